import ProvisionerCore

extension SQLRegistry {
    /// Hostnames of the nodes that report running from `image/generation`
    /// and are not lost: a generation they use must not be removed.
    public func nodesUsing(image: String, generation: GenerationID) throws -> [String] {
        try read { db in
            try db.values(String.self, """
                SELECT n.hostname FROM nodes n JOIN node_status s ON s.node_id = n.id
                WHERE s.image = ? AND n.state IN ('booting', 'enrolled', 'ready') ORDER BY n.hostname
                """, ["\(image)/\(generation)"])
        }
    }
}
