/// The waiting room of a worker pool, queued per tenant and served in turn.
///
/// It exists so that one tenant with many requests in flight gets its share of the workers
/// and no more while others wait: each tenant has a lane (first in, first out), and the
/// lanes that hold work are served round robin, one job each (deficit round robin with
/// equal costs). A tenant's lane is bounded as well as the whole queue, so a flood sheds
/// its own requests before it can fill the room.
///
/// A plain value with no lock and no clock: the pool guards it, and its order is tested
/// deterministically.
public struct FairQueue<Element> {
    /// Why `enqueue` refused.
    public enum Refusal: Sendable, Equatable {
        /// The whole queue holds `capacity` jobs.
        case full
        /// The tenant's lane holds `tenantCapacity` jobs.
        case tenantShare
    }

    private struct Lane {
        var tenant: UInt64 = 0
        var items: [Element?] = []
        var head = 0
        var count: Int { items.count - head }
    }

    public let capacity: Int
    public let tenantCapacity: Int
    public private(set) var count = 0

    /// Lane index by tenant, for tenants with waiting work.
    private var laneOf: [UInt64: Int] = [:]
    private var lanes: [Lane] = []
    private var freeLanes: [Int] = []
    /// Lanes with work, in serving order (a ring of lane indices).
    private var ring: [Int]
    private var ringHead = 0
    private var ringCount = 0

    public init(capacity: Int, tenantCapacity: Int) {
        self.capacity = max(1, capacity)
        self.tenantCapacity = max(1, min(tenantCapacity, capacity))
        ring = Array(repeating: 0, count: self.capacity)
    }

    /// Tenants with waiting work.
    public var tenantCount: Int { ringCount }

    /// Queues `element` at the end of `tenant`'s lane.
    public mutating func enqueue(_ element: Element, tenant: UInt64) -> Refusal? {
        guard count < capacity else { return .full }
        let index: Int
        if let existing = laneOf[tenant] {
            guard lanes[existing].count < tenantCapacity else { return .tenantShare }
            index = existing
        } else {
            if let reused = freeLanes.popLast() {
                index = reused
            } else {
                index = lanes.count
                lanes.append(Lane())
            }
            lanes[index].tenant = tenant
            laneOf[tenant] = index
            ring[(ringHead + ringCount) % capacity] = index
            ringCount += 1
        }
        lanes[index].items.append(element)
        count += 1
        return nil
    }

    /// The next job: the first of the lane whose turn it is; that lane then goes to the back.
    public mutating func dequeue() -> Element? {
        guard ringCount > 0 else { return nil }
        let index = ring[ringHead]
        ringHead = (ringHead + 1) % capacity
        ringCount -= 1
        let head = lanes[index].head
        let element = lanes[index].items[head]
        lanes[index].items[head] = nil
        lanes[index].head += 1
        count -= 1
        if lanes[index].count > 0 {
            if lanes[index].head >= 64 && lanes[index].head * 2 >= lanes[index].items.count {
                lanes[index].items.removeFirst(lanes[index].head)
                lanes[index].head = 0
            }
            ring[(ringHead + ringCount) % capacity] = index
            ringCount += 1
        } else {
            lanes[index].items.removeAll(keepingCapacity: lanes[index].items.capacity <= 64)
            lanes[index].head = 0
            laneOf[lanes[index].tenant] = nil
            freeLanes.append(index)
        }
        return element
    }
}

/// The tenant a request's work is queued under before the application has resolved anything:
/// its credential (the `Authorization` or `X-API-Key` value), else the client's address. A
/// header naming a workspace is deliberately not used: anyone can name someone else's
/// workspace, and their flood would then be queued in that tenant's lane.
public enum TenantKey {
    public static func of(_ request: HTTPRequest, clientAddress: String) -> UInt64 {
        if let credential = request.headers.first("authorization") ?? request.headers.first("x-api-key") {
            return hash(credential.utf8)
        }
        return hash(clientAddress.utf8) ^ 0x9E37_79B9_7F4A_7C15
    }

    /// FNV-1a, 64 bits.
    static func hash(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            value ^= UInt64(byte)
            value = value &* 0x0000_0100_0000_01B3
        }
        return value
    }
}
