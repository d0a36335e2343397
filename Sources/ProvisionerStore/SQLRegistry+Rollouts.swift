import Foundation
import ProvisionerCore

extension SQLRegistry {
    /// Takes nodes out of placement (or puts them back), all or none, with an audit record each.
    /// - Returns: the hostnames whose drain state changed.
    /// - Throws: `NotFoundError` for an unknown node.
    public func setDrained(_ keys: [String], _ drained: Bool, now: String) throws -> [String] {
        try write { db in
            var changed: [String] = []
            for key in keys {
                guard let node = try Self.find(db, key) else { throw NotFoundError("node", key) }
                let was = try db.value(Int.self, "SELECT drained FROM nodes WHERE hostname = ?", [node.hostname.value]) ?? 0
                if (was != 0) == drained { continue }
                try db.execute("UPDATE nodes SET drained = ?, updated_at = ? WHERE hostname = ?", [drained ? 1 : 0, now, node.hostname.value])
                try db.execute("INSERT INTO audit (at, action, subject, actor) VALUES (?, ?, ?, ?)",
                               [now, drained ? "node.drain" : "node.undrain", node.hostname.value, AuditActor.value])
                changed.append(node.hostname.value)
            }
            return changed
        }
    }

    /// Records a new rollout; it gets its id.
    /// - Throws: `ConflictError` when a rollout of the same image is still running.
    public func createRollout(_ rollout: Rollout) throws -> Rollout {
        try write { db in
            if let running = try db.value(Int.self, "SELECT id FROM rollouts WHERE image = ? AND status = 'running'", [rollout.image]) {
                throw ConflictError(field: "image", value: rollout.image, holder: "rollout \(running)",
                                    "rollout \(running) of image \(rollout.image) is still running: `provisioner image rollout --resume` continues it, `--abort` stops it")
            }
            var r = rollout
            guard let id = try db.value(Int.self, "INSERT INTO rollouts (image, status, state, started_at, updated_at) VALUES (?, ?, '{}', ?, ?) RETURNING id",
                                        [r.image, r.status.rawValue, r.startedAt, r.updatedAt]) else { throw RegistryError("the new rollout got no id") }
            r.id = id
            try db.execute("UPDATE rollouts SET state = ? WHERE id = ?", [try Self.encodeJSON(r), r.id])
            try db.execute("INSERT INTO audit (at, action, subject, new, actor) VALUES (?, 'image.rollout', ?, ?, ?)",
                           [r.startedAt, "\(r.image)/\(r.target)", "rollout \(r.id): \(r.batches.count) batch(es)", AuditActor.value])
            return r
        }
    }

    /// Saves a rollout's state as it is now.
    /// - Throws: `NotFoundError` for a rollout never created.
    public func saveRollout(_ rollout: Rollout) throws {
        try write { db in
            let changed = try db.execute("UPDATE rollouts SET status = ?, state = ?, updated_at = ? WHERE id = ?",
                                         [rollout.status.rawValue, try Self.encodeJSON(rollout), rollout.updatedAt, rollout.id])
            guard changed == 1 else { throw NotFoundError("rollout", String(rollout.id)) }
        }
    }

    /// Changes (to a random value) whenever a node is added, removed, or its
    /// hostname, MAC, IP, profile or pin changes: what its boot files are made of.
    public func nodesToken() throws -> String {
        try read { db in
            let blob = try db.value(Data.self, "SELECT nodes_token FROM registry_meta WHERE id = 1") ?? Data()
            return blob.map { String(format: "%02x", $0) }.joined()
        }
    }

    /// Rollouts, newest first (of one image, when given).
    public func rollouts(image: String?) throws -> [Rollout] {
        try read { db in
            let rows = image == nil
                ? try db.values(String.self, "SELECT state FROM rollouts ORDER BY id DESC")
                : try db.values(String.self, "SELECT state FROM rollouts WHERE image = ? ORDER BY id DESC", [image])
            return rows.compactMap { Self.decodeJSON(Rollout.self, $0) }
        }
    }
}
