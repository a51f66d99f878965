import Hummingbird

/// Requires `Authorization: Bearer <token>` with one of the configured tokens; 401 otherwise.
/// Tokens are compared in constant time (no early exit on the first differing byte, and every
/// configured token is compared), and never logged.
struct BearerAuth<Context: RequestContext>: RouterMiddleware {
    let tokens: [[UInt8]]
    /// Paths served without a token (the page, which holds no data, and the health check).
    let exempt: Set<String>

    init(tokens: [String], exempt: Set<String> = []) {
        self.tokens = tokens.map { Array($0.utf8) }
        self.exempt = exempt
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !tokens.isEmpty else { return try await next(request, context) }
        if request.method == .options || exempt.contains(request.uri.path) { return try await next(request, context) }
        guard let header = request.headers[.authorization], header.count > 7,
              header.prefix(7).lowercased() == "bearer ", accepts(Array(header.utf8.dropFirst(7))) else {
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            headers[.wwwAuthenticate] = #"Bearer realm="llmq""#
            return Response(status: .unauthorized, headers: headers,
                            body: .init(byteBuffer: ByteBuffer(bytes: ChatCompletionResponse.errorJSON(
                                message: "a valid bearer token is required (Authorization: Bearer <token>)",
                                type: "invalid_request_error", code: "invalid_api_key"))))
        }
        return try await next(request, context)
    }

    /// True when `candidate` equals one of the tokens; the time taken depends only on the lengths.
    func accepts(_ candidate: [UInt8]) -> Bool {
        var matched: UInt8 = 0
        for token in tokens {
            matched |= Self.constantTimeEqual(candidate, token)
        }
        return matched == 1
    }

    /// 1 when equal, else 0, comparing every byte of `token` whatever the candidate holds.
    static func constantTimeEqual(_ candidate: [UInt8], _ token: [UInt8]) -> UInt8 {
        var difference: UInt8 = candidate.count == token.count ? 0 : 1
        for index in 0..<token.count {
            let byte = index < candidate.count ? candidate[index] : 0
            difference |= byte ^ token[index]
        }
        return difference == 0 ? 1 : 0
    }
}

/// CORS for the configured origins (`gateway.cors_origins`): answers preflights and adds the
/// allow headers to responses for an allowed `Origin`. Nothing when no origin is configured.
struct GatewayCORS<Context: RequestContext>: RouterMiddleware {
    let origins: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !origins.isEmpty, let origin = request.headers[.origin], origins.contains("*") || origins.contains(origin) else {
            return try await next(request, context)
        }
        let allowOrigin = origins.contains("*") ? "*" : origin
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            var headers = HTTPFields()
            headers[.accessControlAllowOrigin] = allowOrigin
            headers[.accessControlAllowMethods] = "GET, POST, DELETE, OPTIONS"
            headers[.accessControlAllowHeaders] = "Authorization, Content-Type, Last-Event-ID, X-LLMQ-Keep"
            headers[.accessControlMaxAge] = "600"
            if allowOrigin != "*" { headers[.vary] = "Origin" }
            return Response(status: .noContent, headers: headers)
        }
        var response = try await next(request, context)
        response.headers[.accessControlAllowOrigin] = allowOrigin
        response.headers[.accessControlExposeHeaders] = "Location"
        if allowOrigin != "*" { response.headers[.vary] = "Origin" }
        return response
    }
}
