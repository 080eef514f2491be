import AtriumAPI
import CAtriumSystem
import Glibc

// `atrium [serve|migrate|backup|copy-store|user|key] [flags]`: one executable for the server and its
// administration (server.md "Process, configuration, tooling").

atrium_block_signals()

let arguments = Array(CommandLine.arguments.dropFirst())
let subcommands: Set<String> = ["serve", "migrate", "backup", "copy-store", "user", "key", "help"]
let command = arguments.first.flatMap { subcommands.contains($0) ? $0 : nil } ?? "serve"
let rest = arguments.first == command ? Array(arguments.dropFirst()) : arguments

func fail(_ message: String) -> Never {
    Console.error("atrium: \(message)")
    exit(2)
}

do {
    switch command {
    case "help":
        Console.out(AdminCommands.usage)
    case "serve":
        let (configuration, positional) = try ConfigurationLoader.load(arguments: rest, environment: environment())
        if let extra = positional.first { fail("unexpected argument '\(extra)'") }
        let application = try AtriumApplication(configuration: configuration)
        let port = try application.start()
        let base = "http://\(configuration.host):\(port)"
        Console.out("Atrium listening on \(base) (data in \(configuration.dataDirectory))")
        Console.out("Create a first account: curl -s -X POST \(base)/v1/auth/signup "
              + "-H 'Content-Type: application/json' "
              + "-d '{\"email\":\"you@example.com\",\"password\":\"a long password\",\"name\":\"You\"}'")
        let signal = atrium_wait_for_termination()
        Console.error("atrium: signal \(signal) received, shutting down")
        application.stop()
        Console.error("atrium: stopped")
        exit(0)
    default:
        try AdminCommands.run(command: command, arguments: rest, environment: environment())
    }
} catch let error as ConfigurationError {
    fail(error.description)
} catch {
    fail("\(error)")
}

func environment() -> [String: String] {
    var result: [String: String] = [:]
    var pointer = environ
    while let entry = pointer.pointee {
        let text = String(cString: entry)
        if let equals = text.firstIndex(of: "=") {
            result[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        pointer += 1
    }
    return result
}
