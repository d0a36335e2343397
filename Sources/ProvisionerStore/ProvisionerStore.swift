// ProvisionerStore: the node registry.
//
// One `Registry` protocol with two engines behind it: SQLite (GRDB over the
// system libsqlite3), the embedded default of a single boot server, and
// PostgreSQL (postgres-nio), shared by several boot servers. Both keep the same
// tables: nodes, BMCs, discovered machines, instances, image activations,
// rollouts, boot events and an append-only change log that replicas follow.
// Every write validates its input and either applies whole or changes nothing.
