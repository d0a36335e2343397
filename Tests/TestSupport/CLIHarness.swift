import Foundation
import ProvisionerPlatform
import Testing

/// Runs the real `provisioner` binary, as an operator or a script would.
public enum CLI {
    /// The built binary: $PROVISIONER_BIN, or beside the test bundle.
    public static let binary: String = {
        if let p = ProcessInfo.processInfo.environment["PROVISIONER_BIN"], !p.isEmpty { return p }
        let besideBundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("provisioner").path
        if FileManager.default.isExecutableFile(atPath: besideBundle) { return besideBundle }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/provisioner").path
    }()

    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs `provisioner ARGS` to completion; output goes through files, so any size is fine.
    @discardableResult
    public static func run(_ args: [String], env: [String: String] = [:]) throws -> Result {
        try runProcess(binary, args, env: env)
    }
}

/// Runs a program to completion, output through files (any size is fine).
/// posix_spawn + waitpid, not Foundation's Process: its waitUntilExit never
/// returns when the program leaves a long-lived grandchild behind (lab up
/// starts serve and QEMU), because the grandchild keeps an inherited
/// descriptor of Process' own open.
public func runProcess(_ path: String, _ args: [String], env: [String: String] = [:]) throws -> CLI.Result {
    let dir = NSTemporaryDirectory() + "cli-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var environment = ProcessInfo.processInfo.environment
    environment.removeValue(forKey: "PROVISIONER_HOME")
    environment.merge(env) { _, new in new }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, dir + "/out", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_addopen(&actions, 2, dir + "/err", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    _ = spawnCloseFrom(&actions, 3)
    var argv: [UnsafeMutablePointer<CChar>?] = ([path] + args).map { strdup($0) } + [nil]
    var envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { for p in argv { free(p) }; for p in envp { free(p) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, path, &actions, nil, &argv, &envp)
    guard rc == 0 else { throw TestFailure("cannot run \(path): \(String(cString: strerror(rc)))") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return CLI.Result(
        status: code,
        stdout: String(decoding: FileManager.default.contents(atPath: dir + "/out") ?? Data(), as: UTF8.self),
        stderr: String(decoding: FileManager.default.contents(atPath: dir + "/err") ?? Data(), as: UTF8.self))
}

extension CLI.Result {
    /// The `--json` output, parsed (nil when it is not JSON).
    public var json: Any? { try? JSONSerialization.jsonObject(with: Data(stdout.utf8)) }
    /// The `--json` output as one object (empty when it is something else).
    public var object: [String: Any] { json as? [String: Any] ?? [:] }
    /// The `--json` output as a list of objects (empty when it is something else).
    public var objects: [[String: Any]] { json as? [[String: Any]] ?? [] }
}

/// The named steps of a long system test: each printed with its time since
/// the start, so the log shows which step a failure or a slow spot is in.
public struct StepClock: Sendable {
    public let test: String
    public let start = Date()
    public init(_ test: String) { self.test = test }
    public func callAsFunction(_ name: String) { print("\(test): \(name) at \(String(format: "%.1f", Date().timeIntervalSince(start))) s") }
}

/// A fresh, initialized provisioner home in a temp directory.
public struct Home: Sendable {
    public let dir: String

    public init(_ initArgs: [String] = []) throws {
        dir = NSTemporaryDirectory() + "provisioner-cli-\(UUID().uuidString)"
        let r = try CLI.run(["init", "--home", dir, "--mirror", "http://mirror.example/debian"] + initArgs)
        try #require(r.status == 0, "init failed: \(r.stderr)")
    }

    /// A home made by the test itself.
    public init(existing dir: String) { self.dir = dir }

    public var registry: String { dir + "/registry.sqlite" }
    public var config: String { dir + "/provisioner.yaml" }

    /// `provisioner ARGS --home DIR` (`--home` goes before a `--`, if any).
    @discardableResult
    public func run(_ args: [String]) throws -> CLI.Result {
        var args = args
        args.insert(contentsOf: ["--home", dir], at: args.firstIndex(of: "--") ?? args.endIndex)
        return try CLI.run(args)
    }

    /// Writes a file in the home and returns its path.
    public func file(_ name: String, _ contents: String) throws -> String {
        let path = dir + "/" + name
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A full dump of the registry by the sqlite3 tool (not our code), for before/after checks.
    public func dump() throws -> String {
        let r = try runProcess("/usr/bin/sqlite3", [registry, ".dump"])
        try #require(r.status == 0, "sqlite3 .dump failed: \(r.stderr)")
        return r.stdout
    }

    /// Everything in the home except the registry's own files, path → bytes.
    public func files() throws -> [String: Data] {
        snapshot(dir).filter { !$0.key.hasPrefix("registry.sqlite") }
    }
}
