@testable import AtriumHTTP
import Testing

/// The per-tenant waiting room of the worker pools, driven by hand: no threads, no timing.
@Suite("Fair queue")
struct FairQueueTests {
    /// Drains the queue, returning the tenant of each job in the order served.
    static func drain(_ queue: inout FairQueue<(UInt64, Int)>) -> [(UInt64, Int)] {
        var served: [(UInt64, Int)] = []
        while let job = queue.dequeue() { served.append(job) }
        return served
    }

    @Test func aFloodingTenantGetsItsShareAndNoMore() {
        var queue = FairQueue<(UInt64, Int)>(capacity: 1000, tenantCapacity: 1000)
        for index in 0..<64 { #expect(queue.enqueue((1, index), tenant: 1) == nil) }
        for index in 0..<2 { #expect(queue.enqueue((2, index), tenant: 2) == nil) }
        #expect(queue.tenantCount == 2)
        let served = Self.drain(&queue)
        // Tenant 2 arrived behind 64 jobs of tenant 1 but waits for at most one of them per job.
        let positions = served.enumerated().filter { $0.element.0 == 2 }.map(\.offset)
        #expect(positions == [1, 3])
        #expect(served.count == 66 && queue.count == 0)
    }

    @Test func eachTenantIsServedFirstInFirstOut() {
        var queue = FairQueue<(UInt64, Int)>(capacity: 100, tenantCapacity: 100)
        for index in 0..<10 {
            _ = queue.enqueue((UInt64(index % 3), index), tenant: UInt64(index % 3))
        }
        let served = Self.drain(&queue)
        for tenant: UInt64 in 0..<3 {
            let order = served.filter { $0.0 == tenant }.map(\.1)
            #expect(order == order.sorted(), "tenant \(tenant)")
        }
        #expect(served.map(\.0) == [0, 1, 2, 0, 1, 2, 0, 1, 2, 0], "round robin over the tenants with work")
    }

    @Test func aTenantLaneAndTheWholeQueueAreBounded() {
        var queue = FairQueue<(UInt64, Int)>(capacity: 5, tenantCapacity: 2)
        #expect(queue.enqueue((1, 0), tenant: 1) == nil)
        #expect(queue.enqueue((1, 1), tenant: 1) == nil)
        #expect(queue.enqueue((1, 2), tenant: 1) == .tenantShare, "tenant 1 holds its share")
        #expect(queue.enqueue((2, 0), tenant: 2) == nil, "others still get in")
        #expect(queue.enqueue((2, 1), tenant: 2) == nil)
        #expect(queue.enqueue((3, 0), tenant: 3) == nil)
        #expect(queue.enqueue((4, 0), tenant: 4) == .full)
        _ = queue.dequeue()
        #expect(queue.enqueue((1, 3), tenant: 1) == nil, "a served job frees its tenant's slot")
    }

    @Test func lanesAreReusedAcrossManyTenants() {
        var queue = FairQueue<(UInt64, Int)>(capacity: 8, tenantCapacity: 8)
        for round in 0..<1000 {
            for tenant in 0..<4 {
                let id = UInt64(round * 4 + tenant)
                #expect(queue.enqueue((id, round), tenant: id) == nil)
            }
            #expect(Self.drain(&queue).count == 4)
        }
        #expect(queue.count == 0 && queue.tenantCount == 0)
    }

    @Test func aLongLaneStaysCompact() {
        var queue = FairQueue<(UInt64, Int)>(capacity: 256, tenantCapacity: 256)
        var next = 0
        for _ in 0..<10_000 {
            _ = queue.enqueue((1, next), tenant: 1)
            next += 1
            if queue.count > 100 { _ = queue.dequeue() }
        }
        let served = Self.drain(&queue)
        #expect(served.map(\.1) == Array((next - served.count)..<next))
    }

    @Test func theCredentialDecidesTheTenantNotAWorkspaceHeader() throws {
        func request(_ headers: [(String, String)]) -> HTTPRequest {
            HTTPRequest(method: .get, version: .http11, target: "/v1/me", path: "/v1/me", query: nil,
                        headers: HTTPFields(headers), body: [], keepAlive: true)
        }
        let key = TenantKey.of(request([("Authorization", "Bearer a")]), clientAddress: "10.0.0.1")
        #expect(key == TenantKey.of(request([("Authorization", "Bearer a"), ("X-Workspace-ID", "7")]),
                                    clientAddress: "10.0.0.2"))
        #expect(key != TenantKey.of(request([("Authorization", "Bearer b")]), clientAddress: "10.0.0.1"))
        #expect(TenantKey.of(request([]), clientAddress: "10.0.0.1")
                != TenantKey.of(request([]), clientAddress: "10.0.0.2"))
    }
}
