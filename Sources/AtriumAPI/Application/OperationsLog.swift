import AtriumHTTP
import AtriumJSON

/// Operational events that concern no single request (a full disk), as JSON lines on
/// standard error beside the unexpected-error lines, so one log pipeline sees both.
enum OperationsLog {
    static func error(_ message: String) {
        var writer = JSONWriter(capacity: 160)
        writer.beginObject()
        writer.key("level")
        writer.string("error")
        writer.key("message")
        writer.string(message)
        writer.endObject()
        ErrorLog.sink.write(writer.bytes + [10])
    }
}
