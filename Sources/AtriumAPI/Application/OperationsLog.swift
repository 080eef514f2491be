import AtriumSystem

/// Operational events that concern no single request (a full disk), as JSON lines on
/// standard error beside the unexpected-error lines, so one log pipeline sees both.
enum OperationsLog {
    static func error(_ message: String) {
        ErrorLog.write(message: message)
    }
}
