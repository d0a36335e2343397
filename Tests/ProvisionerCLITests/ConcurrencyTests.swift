import Foundation
import Testing
import TestSupport

@Suite struct ConcurrencyTests {
    /// Eight processes add nodes at once, each also racing for one shared name:
    /// every unique add lands, exactly one shared add wins, nobody sees a lock error.
    @Test func eightProcessesAddAtOnce() throws {
        let home = try Home()
        let workers = 8, perWorker = 6
        var processes: [(Process, String)] = []
        for w in 0..<workers {
            var script = ""
            for j in 0..<perWorker {
                script += "\"$B\" node add w\(w)-\(j) --mac 02:00:00:00:\(String(format: "%02x:%02x", w, j)) --home \"$H\" >/dev/null 2>>\"$E\" || echo FAIL w\(w)-\(j) >>\"$E\"\n"
                if j == perWorker / 2 {
                    script += "\"$B\" node add shared --home \"$H\" >/dev/null 2>>\"$E\" || true\n"
                }
            }
            let errFile = home.dir + "/worker\(w).err"
            _ = FileManager.default.createFile(atPath: errFile, contents: nil)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", script]
            p.environment = ["B": CLI.binary, "H": home.dir, "E": errFile, "PATH": "/usr/bin:/bin"]
            processes.append((p, errFile))
        }
        for (p, _) in processes { try p.run() }
        var errors = ""
        for (p, errFile) in processes {
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
            errors += try String(contentsOfFile: errFile, encoding: .utf8)
        }
        #expect(!errors.contains("FAIL"), "\(errors)")
        #expect(!errors.contains("locked"), "\(errors)")
        let errorLines = errors.split(separator: "\n")
        #expect(errorLines.count == workers - 1, "\(errors)")
        #expect(errorLines.allSatisfy { $0.contains("hostname shared is already registered") }, "\(errors)")

        let list = try JSONDecoder().decode([JSONNode].self, from: Data(try home.run(["node", "list", "--json"]).stdout.utf8))
        #expect(list.count == workers * perWorker + 1)
        #expect(Set(list.map(\.ip)).count == list.count)
    }
}
