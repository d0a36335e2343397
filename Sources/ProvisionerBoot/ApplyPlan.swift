import Foundation
import ProvisionerCore
import ProvisionerPlatform

/// What an apply would do to the live files: each file added, changed or removed.
public struct ApplyPlan: Sendable {
    public enum Kind: String, Sendable, Codable { case add, change, remove }

    public struct Entry: Sendable {
        public var kind: Kind
        public var path: String
        /// New bytes (nil for a removal).
        public var contents: Data?
        public var mode: UInt16
    }

    public var entries: [Entry]
    public var unchanged: Int
    public var warnings: [String]
    /// Directories that must exist and do not: the node directories, which
    /// dnsmasq watches from its start (`dhcp-hostsdir`) even while empty.
    public var directories: [String] = []
    /// Every file the render wants, changed or not (what the apply manifest records).
    public var wanted: [String] = []

    /// A plan of `entries`, with `unchanged` files left as they are.
    public init(entries: [Entry], unchanged: Int, warnings: [String], directories: [String] = [], wanted: [String] = []) {
        self.entries = entries
        self.unchanged = unchanged
        self.warnings = warnings
        self.directories = directories
        self.wanted = wanted
    }

    public var isEmpty: Bool { entries.isEmpty && directories.isEmpty }

    public func count(_ kind: Kind) -> Int { entries.reduce(0) { $0 + ($1.kind == kind ? 1 : 0) } }

    /// `+ path`, `~ path`, `- path` lines and a summary, for the operator.
    public var text: String {
        var out = ""
        for d in directories { out += "+ \(d)/\n" }
        for e in entries {
            out += (e.kind == .add ? "+ " : e.kind == .change ? "~ " : "- ") + e.path + "\n"
        }
        out += "\(count(.add)) to add, \(count(.change)) to change, \(count(.remove)) to remove, \(unchanged) unchanged\n"
        return out
    }

    /// Compares wanted files with what is on disk. Files under `ownedDirs`
    /// that match their pattern and are not wanted are planned for removal.
    static func compute(wanted: [(path: String, contents: Data, mode: UInt16)],
                        ownedDirs: [(dir: String, prefix: String, suffix: String)],
                        removals: [String] = [], warnings: [String] = [], directories: [String] = []) -> ApplyPlan {
        var entries: [Entry] = []
        var unchanged = 0
        var wantedPaths = Set<String>()
        wantedPaths.reserveCapacity(wanted.count)
        // A directory that does not exist holds nothing: its files are all new, unread.
        var dirExists: [Substring: Bool] = [:]
        for w in wanted {
            wantedPaths.insert(w.path)
            let dir = w.path[..<(w.path.lastIndex(of: "/") ?? w.path.startIndex)]
            let exists = dirExists[dir] ?? {
                let e = FileManager.default.fileExists(atPath: String(dir))
                dirExists[dir] = e
                return e
            }()
            if exists, let current = FileSystem.read(w.path) {
                if current == w.contents && mode(of: w.path) == w.mode {
                    unchanged += 1
                } else {
                    entries.append(Entry(kind: .change, path: w.path, contents: w.contents, mode: w.mode))
                }
            } else {
                entries.append(Entry(kind: .add, path: w.path, contents: w.contents, mode: w.mode))
            }
        }
        var gone = Set<String>()
        for owned in ownedDirs {
            for name in FileSystem.list(owned.dir).sorted() where name.hasPrefix(owned.prefix) && name.hasSuffix(owned.suffix) && !name.hasPrefix(".") {
                let path = owned.dir + "/" + name
                if !wantedPaths.contains(path) { gone.insert(path) }
            }
        }
        for path in removals where !wantedPaths.contains(path) && FileManager.default.fileExists(atPath: path) {
            gone.insert(path)
        }
        for path in gone.sorted() {
            entries.append(Entry(kind: .remove, path: path, contents: nil, mode: 0))
        }
        let missing = directories.filter { !FileManager.default.fileExists(atPath: $0) }
        return ApplyPlan(entries: entries, unchanged: unchanged, warnings: warnings, directories: missing, wanted: wanted.map(\.path))
    }
}

func mode(of path: String) -> UInt16 {
    var st = stat()
    guard stat(path, &st) == 0 else { return 0 }
    return UInt16(st.st_mode & 0o7777)
}
