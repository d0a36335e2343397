// ProvisionerAPI: the JSON contract between serve and the node controllers.
//
// What a node controller sends (enrollment, heartbeats with capacity, boot
// timings and instance states) and what serve answers, as plain Codable
// values in camelCase. It has no dependencies at all, so the node controller
// that links it stays small and free of Foundation. The operator's HTTP API is
// described apart, in api/openapi.yaml.
