import Foundation

/// A throw-away certificate authority (shared by the outbound-client and webhook tests) and two server certificates, made with the `openssl`
/// command line tool in a temporary directory the first time HTTPS tests need them.
public struct TestPKI: Sendable {
    public let directory: String
    public var caCertificate: String { directory + "/ca.pem" }
    /// Valid for DNS:localhost and IP:127.0.0.1.
    public var serverCertificate: String { directory + "/server.pem" }
    public var serverKey: String { directory + "/server.key" }
    /// Signed by the same CA but only for DNS:wrong.example.
    public var wrongNameCertificate: String { directory + "/wrong.pem" }
    public var wrongNameKey: String { directory + "/wrong.key" }

    /// nil when `openssl` is not installed (or generation failed): HTTPS tests are skipped.
    public static let shared: TestPKI? = make()

    public static let openSSLPath: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/openssl" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    private static func make() -> TestPKI? {
        guard let openssl = openSSLPath else { return nil }
        let directory = NSTemporaryDirectory() + "atrium-outbound-pki-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let config = """
            [req]
            distinguished_name = dn
            prompt = no
            [dn]
            CN = placeholder
            [ca_ext]
            basicConstraints = critical,CA:TRUE
            keyUsage = critical,keyCertSign,cRLSign
            subjectKeyIdentifier = hash
            [server_ext]
            basicConstraints = CA:FALSE
            keyUsage = critical,digitalSignature,keyEncipherment
            extendedKeyUsage = serverAuth
            subjectAltName = DNS:localhost,IP:127.0.0.1
            [wrong_ext]
            basicConstraints = CA:FALSE
            keyUsage = critical,digitalSignature,keyEncipherment
            extendedKeyUsage = serverAuth
            subjectAltName = DNS:wrong.example
            """
            let cnf = directory + "/openssl.cnf"
            try config.write(toFile: cnf, atomically: true, encoding: .utf8)
            let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
            try run(openssl, ["req", "-x509", "-new"] + key + ["-keyout", directory + "/ca.key", "-out", directory + "/ca.pem",
                    "-days", "2", "-config", cnf, "-extensions", "ca_ext", "-subj", "/CN=Atrium Test CA"])
            for (name, subject, ext) in [("server", "/CN=localhost", "server_ext"), ("wrong", "/CN=wrong.example", "wrong_ext")] {
                try run(openssl, ["req", "-new"] + key + ["-keyout", "\(directory)/\(name).key", "-out", "\(directory)/\(name).csr",
                        "-config", cnf, "-subj", subject])
                try run(openssl, ["x509", "-req", "-in", "\(directory)/\(name).csr", "-CA", directory + "/ca.pem",
                        "-CAkey", directory + "/ca.key", "-set_serial", name == "server" ? "2" : "3", "-days", "2",
                        "-extfile", cnf, "-extensions", ext, "-out", "\(directory)/\(name).pem"])
            }
            return TestPKI(directory: directory)
        } catch {
            print("TestPKI: certificate generation failed: \(error)")
            return nil
        }
    }

    private static func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ReceiverError("openssl \(arguments.first ?? "") exited with \(process.terminationStatus)")
        }
    }
}
