import Foundation
import Synchronization
import Testing
@testable import AtriumHTTP

/// The worker pool wakes exactly as many sleeping threads as it has new jobs; these tests fail
/// (by timing out) if a wake-up is lost, and check the bound and the shutdown.
@Suite struct WorkerPoolTests {
    /// Jobs that can only finish together need that many threads awake at once.
    @Test(arguments: [1, 4, 8])
    func everyJobOfABatchGetsAThreadOfItsOwn(_ count: Int) {
        let pool = WorkerPool(name: "test-pool", threadCount: 8, capacity: 64)
        defer { pool.shutdown() }
        for _ in 0..<3 {  // again, once the threads have been to sleep and back
            let arrived = Atomic<Int>(0)
            let sawEveryone = Atomic<Int>(0)
            let done = DispatchSemaphore(value: 0)
            let jobs: [@Sendable () -> Void] = (0..<count).map { _ in
                {
                    arrived.add(1, ordering: .relaxed)
                    let deadline = Date().addingTimeInterval(3)
                    while arrived.load(ordering: .relaxed) < count && Date() < deadline { usleep(100) }
                    if arrived.load(ordering: .relaxed) == count { sawEveryone.add(1, ordering: .relaxed) }
                    done.signal()
                }
            }
            #expect(pool.submit(batch: jobs) == count)
            for _ in 0..<count { #expect(done.wait(timeout: .now() + 60) == .success) }
            // Every job found all the others running beside it: none waited for a thread.
            #expect(sawEveryone.load(ordering: .relaxed) == count)
        }
    }

    @Test func singleSubmitsFromManyThreadsAllRun() {
        let pool = WorkerPool(name: "test-pool", threadCount: 3, capacity: 10_000)
        let ran = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<500 { #expect(pool.submit { ran.add(1, ordering: .relaxed) }) }
        }
        pool.shutdown()  // runs whatever is still queued
        #expect(ran.load(ordering: .relaxed) == 4000)
    }

    @Test func aFullQueueRefusesTheRest() {
        let pool = WorkerPool(name: "test-pool", threadCount: 1, capacity: 2)
        let release = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        #expect(pool.submit { started.signal(); release.wait() })
        #expect(started.wait(timeout: .now() + 10) == .success)  // the one thread is busy
        let accepted = pool.submit(batch: [{}, {}, {}, {}])
        #expect(accepted == 2)
        release.signal()
        pool.shutdown()
        #expect(!pool.submit {})
    }
}
