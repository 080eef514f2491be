import CAtriumSystem
import Glibc

/// Starts named OS threads running a closure.
///
/// The event loops, workers, the SQLite writer and the webhook dispatcher are long-lived
/// threads, not tasks, so that no request ever waits on a cooperative pool; this is the one
/// place that knows how to start them (a name for ps/top/perf, a retained closure, detached or
/// joinable).
public enum OSThread {
    /// A failed `pthread_create`.
    public struct StartError: Error, Sendable, CustomStringConvertible {
        public let code: Int32
        public var description: String { "pthread_create failed: \(String(cString: strerror(code)))" }
    }

    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Spawns a thread and returns its handle (for `join`, unless `detached`); a thread that
    /// cannot start is a fatal error (start-up cannot go on without it).
    @discardableResult
    public static func spawn(
        name: String, detached: Bool = false, _ body: @escaping @Sendable () -> Void
    ) -> pthread_t {
        do {
            return try start(name: name, detached: detached, body)
        } catch {
            preconditionFailure(error.description)
        }
    }

    /// Spawns a thread; `detached` ones are never joined and free themselves when they end.
    @discardableResult
    public static func start(
        name: String, detached: Bool, _ body: @escaping @Sendable () -> Void
    ) throws(StartError) -> pthread_t {
        let box = Unmanaged.passRetained(Box {
            atrium_set_thread_name(name)
            body()
        }).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        if detached { pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED)) }
        var thread = pthread_t()
        let rc = pthread_create(&thread, &attributes, { raw in
            guard let raw else { return nil }
            Unmanaged<Box>.fromOpaque(raw).takeRetainedValue().body()
            return nil
        }, box)
        guard rc == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            throw StartError(code: rc)
        }
        return thread
    }

    public static func join(_ thread: pthread_t) {
        pthread_join(thread, nil)
    }
}
