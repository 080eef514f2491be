import Foundation

/// An `error.code` of the contract. The generated statics name every known code; a code this SDK
/// does not know survives as its raw value.
public struct ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
    /// Whether this SDK was generated with this code.
    public var isKnown: Bool { ErrorCode.known.contains(self) }
}

/// A field the server refused (`error.details`).
public struct FieldError: Codable, Sendable, Equatable {
    public var field: String
    public var message: String
}

/// An answer of the server that is not a success, in the contract's envelope; or, with status 0,
/// a request that got no answer (see `transport`).
///
/// `catch let error as AtriumError where error.code == .crossTenantWorkspace`.
public struct AtriumError: Error, Sendable, CustomStringConvertible {
    /// The HTTP status; 0 when no answer arrived.
    public let status: Int
    public let code: ErrorCode
    public let message: String
    /// `error.details` of a `400 VALIDATION_FAILED`.
    public let details: [FieldError]
    /// `X-Request-ID` of the answer (equal to `error.request_id`).
    public let requestID: String?
    /// `Retry-After` of a 429 or 503.
    public let retryAfter: Duration?
    /// How many attempts the call made; above 1, a 404 or 412 may follow a first attempt that
    /// succeeded without its answer arriving.
    public internal(set) var attempts: Int
    /// Why no answer arrived, for status 0.
    public let transport: TransportFailure?

    public init(status: Int, code: ErrorCode, message: String, details: [FieldError] = [], requestID: String? = nil,
                retryAfter: Duration? = nil, attempts: Int = 1, transport: TransportFailure? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.requestID = requestID
        self.retryAfter = retryAfter
        self.attempts = attempts
        self.transport = transport
    }

    public var description: String {
        "AtriumError(\(status) \(code.rawValue): \(message)" + (requestID.map { ", request \($0)" } ?? "") + ")"
    }

    /// The error of a non-2xx answer; a body that is not the envelope keeps the status.
    static func decode(status: Int, headers: [String: String], body: Data) -> AtriumError {
        struct Envelope: Decodable {
            struct Inner: Decodable {
                let code: String
                let message: String
                let request_id: String?
                let details: [FieldError]?
            }
            let error: Inner
        }
        let requestID = headers["x-request-id"]
        let retryAfter = headers["retry-after"].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            .map { Duration.seconds($0) }
        if let envelope = try? JSONDecoder().decode(Envelope.self, from: body) {
            return AtriumError(status: status, code: ErrorCode(rawValue: envelope.error.code),
                               message: envelope.error.message, details: envelope.error.details ?? [],
                               requestID: envelope.error.request_id ?? requestID, retryAfter: retryAfter)
        }
        return AtriumError(status: status, code: ErrorCode(rawValue: "HTTP_\(status)"),
                           message: String(decoding: body.prefix(200), as: UTF8.self), requestID: requestID,
                           retryAfter: retryAfter)
    }
}

/// Why a request got no answer.
public enum TransportFailure: Sendable, Equatable {
    /// The SDK's deadline for one attempt passed.
    case timedOut
    /// The connection could not be made: the request never reached the server (safe to resend).
    case cannotConnect(String)
    /// The connection failed after the request may have been sent.
    case connectionLost(String)
    /// An answer that is not valid for the operation (not JSON of the documented shape).
    case invalidResponse(String)
}

extension AtriumError {
    static func transport(_ failure: TransportFailure) -> AtriumError {
        let message = switch failure {
        case .timedOut: "The request timed out."
        case .cannotConnect(let why), .connectionLost(let why), .invalidResponse(let why): why
        }
        return AtriumError(status: 0, code: ErrorCode(rawValue: "TRANSPORT"), message: message, transport: failure)
    }

    /// A call the client refuses to send (a programming error, such as a workspace with fan-out).
    static func usage(_ message: String) -> AtriumError {
        AtriumError(status: 0, code: ErrorCode(rawValue: "CLIENT_USAGE"), message: message)
    }
}
