import Hummingbird
import NIOCore

/// The request context of the gateway: Hummingbird's core context plus the connection's channel,
/// whose close tells a waiting completion that its client went away.
struct GatewayRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
