// ProvisionerCore: the domain of the provisioner with no I/O.
//
// Types here are validated when they are made (MAC address, hostname, IPv4
// address and subnet, profile name), so a value that exists is valid and safe
// to put into any rendered config line. Parsing (site config, CSV, hostlists),
// IP allocation and rendering all work on values in memory; time and
// randomness are passed in by the caller.
