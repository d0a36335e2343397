import Foundation
import Testing

/// Runs the real `provisioner` binary, as an operator or a script would.
enum CLI {
    /// The built binary: $PROVISIONER_BIN, or beside the test bundle.
    static let binary: String = {
        if let p = ProcessInfo.processInfo.environment["PROVISIONER_BIN"], !p.isEmpty { return p }
        let besideBundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("provisioner").path
        if FileManager.default.isExecutableFile(atPath: besideBundle) { return besideBundle }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/provisioner").path
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `provisioner ARGS` to completion; output goes through files, so any size is fine.
    @discardableResult
    static func run(_ args: [String], env: [String: String] = [:]) throws -> Result {
        try runProcess(binary, args, env: env)
    }
}

func runProcess(_ path: String, _ args: [String], env: [String: String] = [:]) throws -> CLI.Result {
    let dir = NSTemporaryDirectory() + "cli-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    _ = FileManager.default.createFile(atPath: dir + "/out", contents: nil)
    _ = FileManager.default.createFile(atPath: dir + "/err", contents: nil)
    let out = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/out"))
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/err"))
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    var environment = ProcessInfo.processInfo.environment
    environment.removeValue(forKey: "PROVISIONER_HOME")
    environment.merge(env) { _, new in new }
    p.environment = environment
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    try out.close()
    try err.close()
    return CLI.Result(
        status: p.terminationStatus,
        stdout: String(decoding: FileManager.default.contents(atPath: dir + "/out") ?? Data(), as: UTF8.self),
        stderr: String(decoding: FileManager.default.contents(atPath: dir + "/err") ?? Data(), as: UTF8.self))
}

/// A fresh, initialized provisioner home in a temp directory.
struct Home {
    let dir: String

    init(_ initArgs: [String] = []) throws {
        dir = NSTemporaryDirectory() + "provisioner-cli-\(UUID().uuidString)"
        let r = try CLI.run(["init", "--home", dir, "--mirror", "http://mirror.example/debian"] + initArgs)
        try #require(r.status == 0, "init failed: \(r.stderr)")
    }

    /// A home made by the test itself.
    init(existing dir: String) { self.dir = dir }

    var registry: String { dir + "/registry.sqlite" }
    var config: String { dir + "/provisioner.yaml" }

    /// `provisioner ARGS --home DIR` (`--home` goes before a `--`, if any).
    @discardableResult
    func run(_ args: [String]) throws -> CLI.Result {
        var args = args
        args.insert(contentsOf: ["--home", dir], at: args.firstIndex(of: "--") ?? args.endIndex)
        return try CLI.run(args)
    }

    /// Writes a file in the home and returns its path.
    func file(_ name: String, _ contents: String) throws -> String {
        let path = dir + "/" + name
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A full dump of the registry by the sqlite3 tool (not our code), for before/after checks.
    func dump() throws -> String {
        let r = try runProcess("/usr/bin/sqlite3", [registry, ".dump"])
        try #require(r.status == 0, "sqlite3 .dump failed: \(r.stderr)")
        return r.stdout
    }

    /// Everything in the home except the registry's own files, path → bytes.
    func files() throws -> [String: Data] {
        var out: [String: Data] = [:]
        let e = FileManager.default.enumerator(atPath: dir)
        while let rel = e?.nextObject() as? String {
            if rel.hasPrefix("registry.sqlite") { continue }
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: dir + "/" + rel, isDirectory: &isDir), !isDir.boolValue {
                out[rel] = FileManager.default.contents(atPath: dir + "/" + rel)
            }
        }
        return out
    }
}
