import Foundation
import Hummingbird
import NIOCore
import ProvisionerCore

/// The request context of serve: Hummingbird's, plus the client's address
/// (boot scripts and the node API check it against the node's IP).
public struct ServeContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The client's IPv4 address, when it has one.
    var clientIP: IPv4Address? {
        guard let ip = remoteAddress?.ipAddress else { return nil }
        let v4 = ip.hasPrefix("::ffff:") ? String(ip.dropFirst(7)) : ip
        return try? IPv4Address(parsing: v4)
    }
}
