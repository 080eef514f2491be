import AtriumStore
import Foundation
import Synchronization
import Testing

/// The store's boundary: SQLite's busy and full failures come out as `StoreError`s, and the
/// store-level surface (health, statistics, commit notifications) works without SQLite types.
@Suite(.enabled(if: TestStores.isSQLite, "SQLite only: full disk, lock files and busy timeouts of a data directory"))
struct StoreBoundaryTests {
    private func directory() throws -> String {
        let path = NSTemporaryDirectory() + "atrium-boundary-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("a write that does not fit is StoreError.storageFull, counted and logged once; reads go on")
    func storageFull() throws {
        var configuration = StoreConfiguration(dataDirectory: try directory())
        configuration.synchronous = .normal
        configuration.readerCount = 1
        configuration.maxPageCount = 60
        let lines = Mutex<[String]>([])
        let store = try Store(configuration: configuration, log: { line in lines.withLock { $0.append(line) } })
        defer { store.close() }
        let user = try store.write { writer in
            try writer.createUser(email: "a@example.com", name: "A", passwordHash: "h", now: 1)
        }
        let large = String(repeating: "n", count: 300_000)
        for _ in 0..<3 {
            #expect(throws: StoreError.storageFull) {
                try store.write { writer in
                    try writer.setUserName(userID: user.id, name: large, now: 2)
                }
            }
        }
        #expect(try store.read { try $0.user(id: user.id)?.name } == "A")
        #expect(store.statistics.storageFullWrites == 3)
        let logged = lines.withLock { $0 }
        #expect(logged.count == 1, "\(logged)")
        #expect(logged.first?.contains("storage full") == true)
        #expect(store.isHealthy)
    }

    @Test("commit notifications reach the observer after a write that asked for one")
    func commitNotification() throws {
        let store = try Store(dataDirectory: try directory(), synchronous: .normal, readerCount: 1)
        defer { store.close() }
        let told = Atomic<Int>(0)
        store.onCommit { told.add(1, ordering: .relaxed) }
        let before = store.statistics.commits
        try store.write { writer in writer.requestCommitNotification() }
        #expect(told.load(ordering: .relaxed) == 1)
        #expect(store.statistics.commits == before + 1)
    }

    @Test("a database locked by another process past the busy timeout is StoreError.busy")
    func busy() throws {
        let path = try directory()
        let holder = try Store(dataDirectory: path, synchronous: .normal, readerCount: 1)
        defer { holder.close() }
        var configuration = StoreConfiguration(dataDirectory: path)
        configuration.readerCount = 1
        configuration.busyTimeoutMilliseconds = 20
        let waiter = try Store(configuration: configuration)
        defer { waiter.close() }
        let locked = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        Thread {
            _ = try? holder.write { writer in
                _ = try writer.createUser(email: "holder@example.com", name: "H", passwordHash: "h", now: 1)
                locked.signal()
                _ = release.wait(timeout: .now() + 5)
            }
        }.start()
        locked.wait()
        #expect(throws: StoreError.busy) {
            try waiter.write { writer in
                try writer.createUser(email: "waiter@example.com", name: "W", passwordHash: "h", now: 1)
            }
        }
        release.signal()
    }
}
