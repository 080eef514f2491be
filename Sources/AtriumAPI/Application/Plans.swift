import AtriumJSON
import AtriumStore
import Glibc

/// A named set of limits and features (server.md "Plans"). A missing limit is unlimited.
public struct Plan: Sendable, Equatable {
    public let name: String
    public let maxWorkspacesPerUser: Int?
    public let maxMembersPerWorkspace: Int?
    public let invitesPerHour: Int?
    /// Requests per minute into one workspace governed by this plan (`requests_per_minute`).
    public let requestsPerMinute: Int?
    /// Requests per minute made with one API key (`key_requests_per_minute`).
    public let keyRequestsPerMinute: Int?
    public let features: Set<PlanFeature>

    public init(name: String, maxWorkspacesPerUser: Int?, maxMembersPerWorkspace: Int?, invitesPerHour: Int?,
                requestsPerMinute: Int? = nil, keyRequestsPerMinute: Int? = nil, features: Set<PlanFeature>) {
        self.name = name
        self.maxWorkspacesPerUser = maxWorkspacesPerUser
        self.maxMembersPerWorkspace = maxMembersPerWorkspace
        self.invitesPerHour = invitesPerHour
        self.requestsPerMinute = requestsPerMinute
        self.keyRequestsPerMinute = keyRequestsPerMinute
        self.features = features
    }
}

/// Every plan the server knows, and which one users without an assigned plan are on.
public struct PlanCatalog: Sendable {
    public static let knownFeatures = Set(PlanFeature.allCases)

    public let defaultName: String
    public let plans: [String: Plan]
    /// Features every plan has, worked out once: asked on every request made with a key.
    private let universalFeatures: Set<PlanFeature>
    /// True when some plan limits request rates, so requests must look their plan up
    /// (worked out once: asked on every request).
    public let limitsRates: Bool

    public init(defaultName: String, plans: [String: Plan]) {
        self.defaultName = defaultName
        self.plans = plans
        universalFeatures = plans.values.reduce(PlanCatalog.knownFeatures) { $0.intersection($1.features) }
        limitsRates = plans.values.contains { $0.requestsPerMinute != nil || $0.keyRequestsPerMinute != nil }
    }

    /// The plan named `name`, or the default one (also for a name no longer configured).
    public func plan(named name: String?) -> Plan {
        if let name, let plan = plans[name] { return plan }
        return plans[defaultName] ?? Plan(name: defaultName, maxWorkspacesPerUser: nil, maxMembersPerWorkspace: nil,
                                          invitesPerHour: nil, features: Self.knownFeatures)
    }

    /// True when no plan lacks `feature`, so requests need not look the owner's plan up.
    public func everyPlanHas(_ feature: PlanFeature) -> Bool {
        universalFeatures.contains(feature)
    }

    /// Without a plans file: one plan, `default`, with the `--max-*` flags and every feature.
    public static func fromFlags(_ configuration: AtriumConfiguration) -> PlanCatalog {
        PlanCatalog(defaultName: "default", plans: ["default": Plan(
            name: "default", maxWorkspacesPerUser: configuration.maxWorkspacesPerUser,
            maxMembersPerWorkspace: configuration.maxMembersPerWorkspace, invitesPerHour: configuration.invitesPerHour,
            requestsPerMinute: configuration.requestsPerMinute,
            keyRequestsPerMinute: configuration.keyRequestsPerMinute,
            features: knownFeatures)])
    }

    /// Reads `{"default": "free", "plans": {"free": {...}, ...}}`.
    public static func load(path: String) throws(ConfigurationError) -> PlanCatalog {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ConfigurationError("cannot read plans file \(path)") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > 1 << 20 { throw ConfigurationError("plans file \(path) is larger than 1 MiB") }
        }
        return try parse(bytes, source: path)
    }

    static func parse(_ bytes: [UInt8], source: String) throws(ConfigurationError) -> PlanCatalog {
        let root: JSONValue
        do {
            root = try JSONParser.parse(bytes)
        } catch {
            throw ConfigurationError("plans file \(source) is not valid JSON: \(error.message)")
        }
        guard let defaultName = root["default"]?.stringValue, let entries = root["plans"]?.objectValue else {
            throw ConfigurationError("plans file \(source) needs \"default\" (a name) and \"plans\" (an object)")
        }
        var plans: [String: Plan] = [:]
        for (name, value) in entries {
            guard case .object = value else { throw ConfigurationError("plan \(name) must be an object") }
            func limit(_ key: String) throws(ConfigurationError) -> Int? {
                guard let field = value[key], !field.isNull else { return nil }
                guard let number = field.int64Value, number >= 0, number <= Int64(Int32.max) else {
                    throw ConfigurationError("plan \(name): \(key) must be a non-negative integer")
                }
                return Int(number)
            }
            func positive(_ value: Int?, _ key: String) throws(ConfigurationError) -> Int? {
                if value == 0 { throw ConfigurationError("plan \(name): \(key) must be at least 1") }
                return value
            }
            var features: Set<PlanFeature> = []
            if let list = value["features"] {
                guard let items = list.arrayValue else {
                    throw ConfigurationError("plan \(name): features must be an array")
                }
                for item in items {
                    guard let feature = item.stringValue.flatMap(PlanFeature.init(rawValue:)) else {
                        throw ConfigurationError("plan \(name): unknown feature \(item.serializedString)")
                    }
                    features.insert(feature)
                }
            }
            plans[name] = Plan(name: name, maxWorkspacesPerUser: try limit("max_workspaces_per_user"),
                               maxMembersPerWorkspace: try limit("max_members_per_workspace"),
                               invitesPerHour: try limit("invites_per_hour"),
                               requestsPerMinute: try positive(limit("requests_per_minute"), "requests_per_minute"),
                               keyRequestsPerMinute: try positive(limit("key_requests_per_minute"),
                                                                  "key_requests_per_minute"),
                               features: features)
        }
        guard plans[defaultName] != nil else {
            throw ConfigurationError("plans file \(source): the default plan \(defaultName) is not defined")
        }
        return PlanCatalog(defaultName: defaultName, plans: plans)
    }
}
