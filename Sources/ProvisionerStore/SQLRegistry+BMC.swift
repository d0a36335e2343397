import Foundation
import ProvisionerCore

extension SQLRegistry {
    /// Sets (or with nil, clears) a node's BMC, with an audit record.
    /// - Throws: `NotFoundError` for an unknown node.
    public func setBMC(_ key: String, _ bmc: BMCSettings?, now: String) throws -> Node {
        try write { db in
            guard let node = try Self.find(db, key) else { throw NotFoundError("node", key) }
            guard let id = try db.value(Int64.self, "SELECT id FROM nodes WHERE hostname = ?", [node.hostname.value]) else {
                throw NotFoundError("node", key)
            }
            if let bmc {
                try db.execute("""
                    INSERT INTO node_bmc (node_id, driver, address, username, password_file, system) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT(node_id) DO UPDATE SET driver = excluded.driver, address = excluded.address, username = excluded.username,
                        password_file = excluded.password_file, system = excluded.system
                    """, [id, bmc.driver.rawValue, bmc.address, bmc.user, bmc.passwordFile, bmc.system])
            } else {
                try db.execute("DELETE FROM node_bmc WHERE node_id = ?", [id])
            }
            try db.execute("UPDATE nodes SET updated_at = ? WHERE id = ?", [now, id])
            // The audit keeps what changed: the settings, with the password file's path and never a password.
            let new = try bmc.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
            try db.execute("INSERT INTO audit (at, action, subject, old, new, actor) VALUES (?, 'node.bmc', ?, NULL, ?, ?)",
                           [now, node.hostname.value, new, AuditActor.value])
            return node
        }
    }

    /// Every node's BMC, by hostname.
    public func bmcs() throws -> [String: BMCSettings] {
        try read { db in
            var out: [String: BMCSettings] = [:]
            for row in try db.rows("""
                SELECT n.hostname, b.driver, b.address, b.username, b.password_file, b.system FROM node_bmc b JOIN nodes n ON n.id = b.node_id
                """) {
                guard let driver = BMCDriver(rawValue: row[1]) else { continue }
                out[row[0]] = BMCSettings(driver: driver, address: row[2], user: row[3], passwordFile: row[4], system: row[5])
            }
            return out
        }
    }
}
