#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One non-NULL cell of a text-format result: libpq's bytes (valid while the result lives)
/// and the column's type OID. It exists so parsing PostgreSQL's text output (integers,
/// `t`/`f`, numerics, bytea's `\x…` hex) is done in one place, without making Strings.
struct PostgresCell {
    let bytes: UnsafeRawBufferPointer
    let type: UInt32

    /// Type OIDs from `pg_type.dat`, fixed since PostgreSQL 7.x (xid8 since 13).
    enum OID {
        static let bool: UInt32 = 16
        static let bytea: UInt32 = 17
        static let int8: UInt32 = 20
        static let int2: UInt32 = 21
        static let int4: UInt32 = 23
        static let oid: UInt32 = 26
        static let float4: UInt32 = 700
        static let float8: UInt32 = 701
        static let numeric: UInt32 = 1700
        static let xid8: UInt32 = 5069
    }

    var value: PostgresValue {
        switch type {
        case OID.int2, OID.int4, OID.int8, OID.oid, OID.bool:
            return .integer(int64)
        case OID.float4, OID.float8:
            return .real(double)
        case OID.numeric:
            if let exact = exactInteger { return .integer(exact) }
            return .real(double)
        case OID.bytea:
            return .blob(blob)
        default:
            return .text(String(decoding: bytes, as: UTF8.self))
        }
    }

    /// Bool as 1/0, exact integers as they are, anything else numeric truncated toward zero.
    var int64: Int64 {
        if type == OID.bool { return bytes.first == UInt8(ascii: "t") ? 1 : 0 }
        if let exact = exactInteger { return exact }
        let value = double
        guard value.isFinite else { return 0 }
        return Int64(exactly: value.rounded(.towardZero)) ?? (value < 0 ? .min : .max)
    }

    /// The cell as an integer when it is one: optional sign, digits, and for numerics an
    /// optional all-zero fraction ("12.00"). nil on overflow or anything else.
    var exactInteger: Int64? {
        var index = 0
        var negative = false
        if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            index = 1
        }
        guard index < bytes.count else { return nil }
        var magnitude: UInt64 = 0
        var sawDigit = false
        while index < bytes.count, let digit = Self.digit(bytes[index]) {
            let (times, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(UInt64(digit))
            if overflow1 || overflow2 { return nil }
            magnitude = sum
            sawDigit = true
            index += 1
        }
        guard sawDigit else { return nil }
        if index < bytes.count {
            guard bytes[index] == UInt8(ascii: "."), type == OID.numeric else { return nil }
            index += 1
            while index < bytes.count {
                guard bytes[index] == UInt8(ascii: "0") else { return nil }
                index += 1
            }
        }
        if negative {
            if magnitude == UInt64(Int64.max) + 1 { return .min }
            return Int64(exactly: magnitude).map { -$0 }
        }
        return Int64(exactly: magnitude)
    }

    private static func digit(_ byte: UInt8) -> UInt8? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? byte - UInt8(ascii: "0") : nil
    }

    /// The cell as a double (`strtod` reads "Infinity" and "NaN" too); bool as 1/0; 0 if not a number.
    var double: Double {
        if type == OID.bool { return bytes.first == UInt8(ascii: "t") ? 1 : 0 }
        // libpq's values are NUL-terminated, so strtod can read them in place.
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self) else { return 0 }
        return strtod(base, nil)
    }

    /// bytea's hex output (`\x0a1b…`) decoded; other types give their text bytes.
    var blob: [UInt8] {
        guard type == OID.bytea, bytes.count >= 2, bytes[0] == UInt8(ascii: "\\"), bytes[1] == UInt8(ascii: "x")
        else { return Array(bytes) }
        var decoded: [UInt8] = []
        decoded.reserveCapacity((bytes.count - 2) / 2)
        var index = 2
        while index + 1 < bytes.count {
            guard let high = Self.hex(bytes[index]), let low = Self.hex(bytes[index + 1]) else { break }
            decoded.append(high << 4 | low)
            index += 2
        }
        return decoded
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
