import AtriumAuth
import AtriumStore

/// The administration subcommands: they open the same store as the server (safe while it
/// runs: SQLite WAL allows other processes to read, and writes wait their turn).
public enum AdminCommands {
    public static let usage = """
        usage: atrium [serve] [flags]                 run the server (default)
               atrium migrate [flags]                 apply pending migrations and exit
               atrium backup <file> [flags]           consistent copy of the database, while the server runs
               atrium copy-store --data-dir D --database-url URL
                                                      copy a SQLite deployment into an empty PostgreSQL database
               atrium user create --email E --password P --name N [flags]
               atrium user set-plan --email E --plan NAME [flags]
               atrium key create --email E --mode full|workspace [--workspace ID] [--name N] [flags]
        Flags and ATRIUM_* variables: docs/configuration.md
        """

    public static func run(command: String, arguments: [String], environment: [String: String]) throws {
        var arguments = arguments
        var subcommand: String?
        if command == "user" || command == "key", let first = arguments.first, !first.hasPrefix("--") {
            subcommand = first
            arguments.removeFirst()
        }
        let (own, remaining) = try extract(["email", "password", "name", "plan", "mode", "workspace"], from: arguments)
        let (configuration, positional) = try ConfigurationLoader.load(arguments: remaining, environment: environment)
        if command == "copy-store" {
            return try CopyStoreCommand.run(configuration, positional: positional)
        }
        try Store.checkDataDirectory(configuration.dataDirectory)
        switch (command, subcommand) {
        case ("migrate", nil):
            let store = try open(configuration)
            store.close()
            Console.out("migrations applied to \(store.path)")
        case ("backup", nil):
            guard positional.count == 1 else { throw ConfigurationError("usage: atrium backup <file>") }
            if configuration.databaseURL != nil {
                throw ConfigurationError("atrium backup copies a SQLite data directory; on PostgreSQL use pg_dump "
                                         + "(e.g. pg_dump -Fc) or point-in-time recovery (docs/deployment.md)")
            }
            try Store.backup(dataDirectory: configuration.dataDirectory, to: positional[0])
            Console.out("backup written to \(positional[0])")
        case ("user", "create"):
            guard let rawEmail = own["email"], let email = AuthEndpoints.normalizedEmail(rawEmail),
                  let password = own["password"], password.count >= 8, password.count <= 256 else {
                throw ConfigurationError("user create needs --email and --password (8-256 characters)")
            }
            let name = own["name"] ?? email
            let hash = PasswordHasher(iterations: configuration.passwordIterations).hash(password)
            let store = try open(configuration)
            defer { store.close() }
            let now = Clock.nowMilliseconds()
            let user = try store.write { writer in
                let user = try writer.createUser(email: email, name: name, passwordHash: hash, now: now)
                let workspace = try writer.createWorkspace(ownerID: user.id, name: "Main", color: nil,
                                                           metadata: "{}", now: now)
                try writer.setMainWorkspace(userID: user.id, workspaceID: workspace.id, now: now)
                return user
            }
            Console.out("user \(user.id) created: \(user.email)")
        case ("user", "set-plan"):
            guard let email = own["email"].map({ $0.trimmingSpaces.lowercased() }),
                  let plan = own["plan"], !plan.isEmpty else {
                throw ConfigurationError("user set-plan needs --email and --plan")
            }
            // The same plans as `serve` (--plans-file / ATRIUM_PLANS_FILE): a name the server
            // does not define would silently put the user on the default plan.
            let catalog = try configuration.plansFile.map { path throws(ConfigurationError) in
                try PlanCatalog.load(path: path)
            } ?? PlanCatalog.fromFlags(configuration)
            guard catalog.plans[plan] != nil else {
                let defined = catalog.plans.keys.sorted().joined(separator: ", ")
                throw ConfigurationError("unknown plan '\(plan)'; the defined plans are: \(defined)")
            }
            let store = try open(configuration)
            defer { store.close() }
            let changed = try store.write { writer in try writer.setPlan(email: email, plan: plan) }
            guard changed else { throw ConfigurationError("no user with email \(email)") }
            Console.out("plan of \(email) set to \(plan)")
        case ("key", "create"):
            guard let email = own["email"].map({ $0.trimmingSpaces.lowercased() }),
                  let mode = APIKeyMode(rawValue: own["mode"] ?? "full") else {
                throw ConfigurationError("key create needs --email and --mode full|workspace|scoped")
            }
            let workspaceID = own["workspace"].flatMap(WorkspaceResolver.parseWorkspaceID)
            if mode != .full && workspaceID == nil {
                throw ConfigurationError("--mode \(mode.rawValue) needs --workspace ID")
            }
            let store = try open(configuration)
            defer { store.close() }
            let secret = APIKeySecret.generate()
            let now = Clock.nowMilliseconds()
            let name = own["name"] ?? "admin key"
            _ = try store.write { writer in
                guard let user = try writer.reader.user(email: email) else {
                    throw ConfigurationError("no user with email \(email)")
                }
                if let workspaceID, try writer.reader.role(userID: user.id, workspaceID: workspaceID) == nil {
                    throw ConfigurationError("\(email) is not a member of workspace \(workspaceID)")
                }
                return try writer.createAPIKey(
                    userID: user.id, mode: mode, workspaceID: mode == .workspace ? workspaceID : nil, name: name,
                    prefix: APIKeySecret.displayPrefix(secret), secretHash: APIKeySecret.hash(secret), permissions: nil,
                    expiresAt: nil, allowList: mode == .scoped ? [workspaceID].compactMap { $0 } : [], now: now)
            }
            Console.out(secret)
        default:
            throw ConfigurationError(usage)
        }
    }

    private static func open(_ configuration: AtriumConfiguration) throws -> Store {
        var storage = StoreConfiguration(dataDirectory: configuration.dataDirectory)
        storage.synchronous = configuration.synchronous
        storage.readerCount = 1
        storage.databaseURL = configuration.databaseURL
        storage.postgresWriterCount = 1
        return try Store(configuration: storage)
    }

    /// Pulls the given flags out of the arguments; the rest is returned for the loader.
    static func extract(_ names: Set<String>, from arguments: [String]) throws(ConfigurationError)
        -> ([String: String], [String])
    {
        let (flags, positional) = try CommandLineFlags.split(arguments)
        var found: [String: String] = [:]
        var rest = positional
        for flag in flags {
            if names.contains(flag.name) {
                found[flag.name] = flag.value
            } else {
                rest.append("--\(flag.name)=\(flag.value)")
            }
        }
        return (found, rest)
    }
}
