import Glibc
import Hummingbird
import NIOCore

/// The `Range` answers of the static boot files, as RFC 9110 says them,
/// in front of Hummingbird's file middleware (which reads `bytes=-N` as the
/// first N+1 bytes and answers a start past the end with a negative length):
/// a suffix range `bytes=-N` is the last N bytes; a range that starts at or
/// past the end is 416 with `Content-Range: bytes */SIZE`; a Range header
/// that is not one byte range (several ranges, another unit, garbage) is
/// ignored and the whole file goes, as the RFC allows.
struct RangeMiddleware: RouterMiddleware {
    /// URL prefix (e.g. `/images`) → the directory it serves.
    let roots: [(prefix: String, dir: String)]

    func handle(_ request: Request, context: ServeContext, next: (Request, ServeContext) async throws -> Response) async throws -> Response {
        // With If-Range, Hummingbird decides whether the range applies at all (else the whole file goes).
        guard request.method == .get || request.method == .head, let header = request.headers[.range], request.headers[.ifRange] == nil,
              let file = Self.file(request.uri.path, roots: roots) else {
            return try await next(request, context)
        }
        var st = stat()
        guard stat(file, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return try await next(request, context) }
        var head = request.head
        switch Self.resolve(header, size: Int(st.st_size)) {
        case .asked(let value):
            head.headerFields[.range] = value
        case .ignore:
            head.headerFields[.range] = nil
        case .unsatisfiable:
            return Response(status: .rangeNotSatisfiable, headers: [.contentRange: "bytes */\(st.st_size)", .contentLength: "0"])
        }
        return try await next(Request(head: head, body: request.body), context)
    }

    /// The file a path names under one of the roots; nil outside them (or with `..`).
    static func file(_ path: String, roots: [(prefix: String, dir: String)]) -> String? {
        guard !path.split(separator: "/").contains("..") else { return nil }
        for root in roots where path.hasPrefix(root.prefix + "/") {
            return root.dir + path.dropFirst(root.prefix.count)
        }
        return nil
    }

    enum Resolution: Equatable {
        /// The header to pass on: one explicit range inside the file.
        case asked(String)
        case ignore
        case unsatisfiable
    }

    /// What a `Range` header asks of a file of `size` bytes.
    static func resolve(_ header: String, size: Int) -> Resolution {
        guard header.hasPrefix("bytes="), !header.contains(",") else { return .ignore }
        let spec = header.dropFirst(6).filter { $0 != " " }
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }) else { return .ignore }
        let (first, last) = (parts[0], parts[1])
        if first.isEmpty {
            // bytes=-N: the last N bytes.
            guard let n = Int(last) else { return .ignore }
            guard n > 0, size > 0 else { return .unsatisfiable }
            return .asked("bytes=\(max(0, size - n))-\(size - 1)")
        }
        guard let start = Int(first) else { return .ignore }
        guard start < size else { return .unsatisfiable }
        if last.isEmpty { return .asked("bytes=\(start)-\(size - 1)") }
        guard let end = Int(last), end >= start else { return .ignore }
        return .asked("bytes=\(start)-\(min(end, size - 1))")
    }
}
