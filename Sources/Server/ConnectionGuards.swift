import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Hummingbird's HTTP/1 channel with an HTTP/1.0 guard in front of its codec, so that an HTTP/1.0 client
/// (which cannot read chunked encoding) gets a 1.0 response delimited by the connection closing.
struct GuardedHTTP1Channel: HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value
    let base: HTTP1Channel
    var responder: Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let operations = channel.pipeline.syncOperations
            // Right after the request decoder: inbound it sees parsed NIO request parts, outbound the response
            // parts on their way to the encoder.
            let decoder = try operations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try operations.addHandler(HTTP10Handler(), position: .after(decoder))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with the HTTP/1.0 guard; `idleTimeout` closes a connection that has not sent a complete
    /// request head that long after it opened or after its last response (slow headers, idle keep-alive).
    static func guardedHTTP1(idleTimeout: TimeAmount) -> HTTPServerBuilder {
        .init { responder in
            let base = HTTP1Channel(responder: responder, configuration: .init(idleTimeout: idleTimeout))
            return GuardedHTTP1Channel(base: base)
        }
    }
}

/// Between NIO's HTTP/1 pipeline and the HTTP-types codec: requests of HTTP/1.0 get `connection: close` (the
/// server then ends the connection after answering), and their responses go out as HTTP/1.0 without
/// `transfer-encoding`, so a streamed body is delimited by the close instead of by chunks a 1.0 client cannot read.
final class HTTP10Handler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// One entry per request not yet answered (requests may be pipelined): true for HTTP/1.0.
    private var pending: [Bool] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var part = unwrapInboundIn(data)
        if case .head(var head) = part {
            let legacy = head.version.major == 1 && head.version.minor == 0
            pending.append(legacy)
            if legacy {
                head.headers.replaceOrAdd(name: "connection", value: "close")
                part = .head(head)
            }
        }
        context.fireChannelRead(wrapInboundOut(part))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var part = unwrapOutboundIn(data)
        let legacy = pending.first ?? false
        switch part {
        case .head(var head) where legacy && head.status.code >= 200:
            head.version = .http1_0
            head.headers.remove(name: "transfer-encoding")
            head.headers.replaceOrAdd(name: "connection", value: "close")
            part = .head(head)
        case .end:
            if !pending.isEmpty { pending.removeFirst() }
            if legacy {
                let written = context.eventLoop.makePromise(of: Void.self)
                written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
                written.futureResult.cascade(to: promise)
                context.writeAndFlush(wrapOutboundOut(part), promise: written)
                return
            }
        default:
            break
        }
        context.write(wrapOutboundOut(part), promise: promise)
    }
}
