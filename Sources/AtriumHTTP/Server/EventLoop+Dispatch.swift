import CAtriumSystem

/// Dispatching: a parsed request goes where the router decided (the router's own answer,
/// an inline handler, or a worker pool), and workers' answers come back in request order.
extension EventLoop {
    func dispatch(_ request: HTTPRequest, on connection: Connection) {
        let requestID = requestIDs.make(echoing: request.headers.first("x-request-id"))
        let keepAlive = request.keepAlive && !shuttingDown && !connection.peerClosed
        let headOnly = request.method == .head
        let http10 = request.version == .http10
        let started = now
        switch shared.router.decide(method: request.method, path: request.path) {
        case .answer(let answer):
            connection.state.requestComplete(toHandler: false)
            var response = HTTPResponse(status: answer.status)
            if let allow = answer.allow { response.headers.append(("Allow", allow)) }
            if let code = answer.error { response.body = shared.renderError(code, answer.message, requestID) }
            answerInline(response, id: requestID, method: request.method, routeIndex: -1, template: nil,
                         started: started, headOnly: headOnly, keepAlive: keepAlive, http10: http10, on: connection)
        case .route(let route, let parameters):
            let context = RequestContext(
                requestID: requestID, routeTemplate: route.template,
                parameters: parameters, clientAddress: connection.clientAddress)
            if case .eventLoop = route.placement {
                connection.state.requestComplete(toHandler: false)
                let response = route.handler.handle(request, context: context)
                answerInline(response, id: requestID, method: request.method, routeIndex: route.index,
                             template: route.template, started: started, headOnly: headOnly,
                             keepAlive: keepAlive, http10: http10, on: connection)
                return
            }
            connection.state.requestComplete(toHandler: true)
            connection.inflight = InflightRequest(
                requestID: requestID, method: request.method, routeIndex: route.index,
                routeTemplate: route.template, startedAt: started, headOnly: headOnly,
                keepAlive: keepAlive, http10: http10)
            let fd = connection.fd
            let generation = connection.generation
            let handler = route.handler
            let pool: WorkerPool
            if case .dedicatedPool(let dedicated) = route.placement { pool = dedicated } else { pool = shared.workers }
            let responder = HTTPResponder(loop: self, fd: fd, generation: generation)
            // A pool that serves first come, first served puts every job in one lane: no hash.
            let tenant = pool.fair ? TenantKey.of(request, clientAddress: connection.clientAddress) : 0
            queuedJobs.append(QueuedJob(pool: pool, tenant: tenant, fd: fd, generation: generation,
                                        responder: responder) {
                handler.handle(request, context: context, responder: responder)
            })
        }
    }

    /// Hands this turn's jobs to their pools, each in its tenant's lane; a job a pool refuses
    /// (the pool full, or the tenant's share of it) is answered 503 and counted as shed.
    func submitQueuedJobs() {
        while !queuedJobs.isEmpty {
            let pool = queuedJobs[0].pool
            let sameTail = queuedJobs.firstIndex { $0.pool !== pool } ?? queuedJobs.count
            let group = Array(queuedJobs[0..<sameTail])
            queuedJobs.removeFirst(sameTail)
            let refusals = pool.submit(tenantJobs: group.map { ($0.tenant, $0.work) })
            for (job, refusal) in zip(group, refusals) {
                guard let refusal else { continue }
                shared.metrics.recordShed(refusal == .full ? .queueFull : .tenantShare)
                job.responder.withdraw()
                refuseOverload(fd: job.fd, generation: job.generation)
            }
        }
    }

    private func refuseOverload(fd: Int32, generation: UInt32) {
        guard let connection = connection(fd: fd, generation: generation),
              let inflight = connection.inflight else { return }
        connection.state.handlerFinished(at: now)
        connection.inflight = nil
        var response = HTTPResponse(status: 503, headers: [("Retry-After", "1")])
        response.body = shared.renderError(.unavailable, "The server is overloaded; retry shortly.", inflight.requestID)
        answerInline(response, id: inflight.requestID, method: inflight.method, routeIndex: inflight.routeIndex,
                     template: inflight.routeTemplate, started: inflight.startedAt, headOnly: inflight.headOnly,
                     keepAlive: inflight.keepAlive, http10: inflight.http10, on: connection)
        flush(connection)
        finishIfDone(connection)
    }

    /// Encodes a response into `writeBuffer` (sent by the next `flush`), records its metric
    /// and writes its access-log line.
    func answerInline(
        _ response: HTTPResponse, id: String, method: HTTPMethod, routeIndex: Int, template: String?,
        started: UInt64, headOnly: Bool, keepAlive: Bool, http10: Bool, on connection: Connection
    ) {
        let close = !keepAlive || shuttingDown
        if let start = response.stream, !headOnly, response.status == 200, !connection.peerClosed {
            startStream(response, start, requestID: id, http10: http10, on: connection)
        } else {
            encode(response, id: id, headOnly: headOnly, close: close, http10: http10, on: connection)
        }
        let elapsed = atrium_monotonic_ns() &- started
        shared.metrics.record(routeIndex: routeIndex, status: response.status, nanoseconds: elapsed)
        accessLog.record(requestID: id, method: method, route: template, status: response.status, startedAt: started,
                         extra: response.logFields)
    }

    private func encode(_ response: HTTPResponse, id: String, headOnly: Bool, close: Bool, http10: Bool,
                        on connection: Connection) {
        ResponseEncoder.encode(response, requestID: id, dateLine: dateLine, headOnly: headOnly, close: close,
                               keepAlive10: http10 && !close, into: &writeBuffer)
        if close { connection.closeAfterWrite = true }
    }

    /// Writes the answers workers left in the inbox and goes on with each connection.
    func drainInbox() {
        for completion in takeCompletions() {
            guard case .response(let answer) = completion.payload else {
                streamPayload(completion.payload, for: completion)
                continue
            }
            guard let connection = connection(fd: completion.fd, generation: completion.generation),
                  let inflight = connection.inflight else { continue }
            connection.state.handlerFinished(at: now)
            connection.inflight = nil
            let response = answer ?? unanswered(requestID: inflight.requestID)
            answerInline(response, id: inflight.requestID, method: inflight.method,
                         routeIndex: inflight.routeIndex, template: inflight.routeTemplate,
                         started: inflight.startedAt, headOnly: inflight.headOnly,
                         keepAlive: inflight.keepAlive && !connection.peerClosed, http10: inflight.http10,
                         on: connection)
            if connection.readPaused && !connection.closeAfterWrite {
                connection.readPaused = false
                flush(connection)
                readable(connection)
            } else {
                processRequests(connection)
                finishIfDone(connection)
            }
        }
    }

    /// What a request gets whose handler dropped its responder without answering.
    private func unanswered(requestID: String) -> HTTPResponse {
        var response = HTTPResponse(status: 500)
        response.body = shared.renderError(.internalError, "The request was not answered.", requestID)
        return response
    }
}
