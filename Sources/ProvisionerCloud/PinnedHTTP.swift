import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import ProvisionerCore
import ProvisionerPlatform

/// HTTP/1.1, one request per connection, to Incus: over a Unix socket in
/// clear, or over TLS where the server's certificate must have the pinned
/// SHA-256 (Incus's cluster certificates are self-signed and not CAs, which
/// a chain check refuses; Incus's own client pins them the same way) and the
/// client presents its certificate.
struct PinnedHTTP: Sendable {
    enum Target: Sendable {
        case socket(String)
        case tls(host: String, port: Int, pinnedSHA256: String, context: NIOSSLContext)
    }

    let target: Target
    let timeout: TimeAmount

    /// A TLS context with the client's certificate and key; the server is checked by pin, not by chain.
    static func context(clientCertificatePEM: String, clientKeyPEM: String) throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .noHostnameVerification  // the callback below decides
        tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(clientCertificatePEM.utf8)).map { .certificate($0) }
        tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(clientKeyPEM.utf8), format: .pem))
        tls.minimumTLSVersion = .tlsv12
        return try NIOSSLContext(configuration: tls)
    }

    /// - Returns: the status and the body.
    /// - Throws: `SystemError` saying what failed: connecting, the pin, the answer.
    func send(_ method: String, _ path: String, body: Data?) throws -> (status: Int, body: Data) {
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.next().makePromise(of: (status: Int, body: Data).self)
        let target = self.target
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if case .tls(_, _, let pinned, let context) = target {
                        let handler = try NIOSSLClientHandler(context: context, serverHostname: nil) { certificates, verdict in
                            let leaf = certificates.first.flatMap { try? $0.toDERBytes() }
                            let digest = leaf.map { lowercaseHex(Array(SHA256.hash(data: $0))) }
                            verdict.succeed(digest == pinned ? .certificateVerified : .failed)
                        }
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(Collector(promise))
                }
            }
        let channel: Channel
        do {
            switch target {
            case .socket(let path): channel = try bootstrap.connect(unixDomainSocketPath: path).wait()
            case .tls(let host, let port, _, _): channel = try bootstrap.connect(host: host, port: port).wait()
            }
        } catch {
            promise.fail(error)  // a promise is always completed
            throw SystemError("cannot be reached: \(error)")
        }
        defer { channel.close(promise: nil) }
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: path)
        switch target {
        case .socket: head.headers.add(name: "Host", value: "incus")  // Go refuses a socket path there
        case .tls(let host, let port, _, _): head.headers.add(name: "Host", value: "\(host):\(port)")
        }
        head.headers.add(name: "Connection", value: "close")
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: String(body?.count ?? 0))
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let body, !body.isEmpty { channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil) }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        let timeout = self.timeout
        let timer = channel.eventLoop.scheduleTask(in: timeout) { promise.fail(SystemError("no answer within \(timeout.nanoseconds / 1_000_000_000) s")) }
        defer { timer.cancel() }
        do {
            return try promise.futureResult.wait()
        } catch let error as SystemError {
            throw error
        } catch let error as NIOSSLError {
            if case .handshakeFailed = error, case .tls = target {
                throw SystemError("TLS: the server's certificate is not the pinned one, or it refused this server's certificate (\(error))")
            }
            throw SystemError("TLS: \(error)")
        } catch {
            throw SystemError("\(error)")
        }
    }

    /// Gathers the answer; a connection that ends before it is whole fails it.
    private final class Collector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart
        let promise: EventLoopPromise<(status: Int, body: Data)>
        var status = 0
        var body = Data()
        var done = false
        init(_ promise: EventLoopPromise<(status: Int, body: Data)>) { self.promise = promise }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): status = Int(head.status.code)
            case .body(var buffer): body.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
            case .end:
                done = true
                promise.succeed((status, body))
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            if !done { done = true; promise.fail(error) }
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            if !done { done = true; promise.fail(SystemError("the connection closed before the answer was whole")) }
            context.fireChannelInactive()
        }
    }
}
