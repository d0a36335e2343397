import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import ProvisionerPlatform

/// The certificate a TLS server presents, read without trusting it: how
/// `cloud attach` learns the cluster's certificate, which it then accepts
/// only if its SHA-256 is the one the operator's trust token names.
public enum PeerCertificate {
    /// - Returns: the server's leaf certificate, PEM.
    /// - Throws: `SystemError` when nothing answers TLS there within `seconds`.
    public static func fetch(host: String, port: Int, seconds: Int64 = 5) throws -> String {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none  // read, not trusted: the caller compares its fingerprint
        let context: NIOSSLContext
        do { context = try NIOSSLContext(configuration: tls) } catch { throw SystemError("TLS: \(error)") }
        let group = MultiThreadedEventLoopGroup.singleton
        let done = group.next().makePromise(of: NIOSSLCertificate?.self)
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.seconds(seconds))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHandler(HandshakeWatcher(done: done))
                }
            }
        do {
            let channel: Channel
            do { channel = try bootstrap.connect(host: host, port: port).wait() } catch {
                done.fail(error)  // a promise is always completed
                throw error
            }
            defer { channel.close(promise: nil) }
            channel.eventLoop.scheduleTask(in: .seconds(seconds)) { done.fail(SystemError("no TLS handshake within \(seconds) s")) }
            guard let certificate = try done.futureResult.wait() else { throw SystemError("the server sent no certificate") }
            return String(decoding: try certificate.toDERBytes().pemEncoded(), as: UTF8.self)
        } catch let error as SystemError {
            throw SystemError("\(host):\(port): \(error.description)")
        } catch {
            throw SystemError("\(host):\(port) cannot be reached over TLS: \(error)")
        }
    }

    private final class HandshakeWatcher: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let done: EventLoopPromise<NIOSSLCertificate?>
        init(done: EventLoopPromise<NIOSSLCertificate?>) { self.done = done }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case TLSUserEvent.handshakeCompleted = event {
                let promise = done
                context.channel.nioSSL_peerCertificate().whenComplete { promise.completeWith($0) }
            }
            context.fireUserInboundEventTriggered(event)
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            done.fail(error)
            context.close(promise: nil)
        }
    }
}

extension Array where Element == UInt8 {
    /// DER bytes as a PEM certificate.
    func pemEncoded() -> [UInt8] {
        let base64 = Data(self).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return Array("-----BEGIN CERTIFICATE-----\n\(base64)\n-----END CERTIFICATE-----\n".utf8)
    }
}
