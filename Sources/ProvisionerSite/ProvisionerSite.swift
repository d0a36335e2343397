// ProvisionerSite: the application layer, the one front door.
//
// A `Site` is a provisioner home (site.yaml, the registry, the rendered tree,
// the images). Every use case lives here once, as a method of `Site`: set-up,
// node writes and apply (`NodeOperations`), image builds and activation, power
// and boot-next through the BMCs, rolling rollouts, instances and the cluster
// report. The CLI, serve, the lab and the tests all call it; it knows nothing of
// HTTP or of the lab.
