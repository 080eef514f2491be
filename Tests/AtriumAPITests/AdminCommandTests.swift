import AtriumJSON
import Foundation
import Testing

/// Admin subcommands refuse what the server would not understand (issue #13).
@Suite("Admin commands")
struct AdminCommandTests {
    @Test("user set-plan with an unknown plan exits non-zero naming the defined plans; the plan is unchanged")
    func setPlanUnknown() throws {
        let plans = try Admin.writePlansFile(Admin.freeAndProPlans)
        let server = try TestServer(["--plans-file", plans])
        let client = try server.client()
        let account = try client.signUp()
        try Admin.cliSetPlan(email: account.email, plan: "pro", server: server, plansFile: plans)
        let refused = try Admin.cli(["user", "set-plan", "--email", account.email, "--plan", "platinum"],
                                    server: server, plansFile: plans)
        #expect(refused.status != 0, "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stderr.contains("platinum"), "\(refused.stderr)")
        #expect(refused.stderr.contains("free, pro"), "\(refused.stderr)")
        let account2 = try client.request("GET", "/v1/account", headers: [account.bearer])
        #expect(account2.json["plan"]?.stringValue == "pro", "\(account2.text)")

        // Without a plans file there is one plan, `default`; ATRIUM_PLANS_FILE is read like the flag.
        let flagless = try Admin.cli(["user", "set-plan", "--email", account.email, "--plan", "pro"],
                                     server: server, plansFile: nil)
        #expect(flagless.status != 0)
        #expect(flagless.stderr.contains("default"), "\(flagless.stderr)")
        let viaEnvironment = try AtriumBinary.run(
            ["user", "set-plan", "--email", account.email, "--plan", "free", "--data-dir", server.dataDirectory],
            environment: ["ATRIUM_PLANS_FILE": plans])
        #expect(viaEnvironment.status == 0, "\(viaEnvironment.stdout) \(viaEnvironment.stderr)")
        let after = try client.request("GET", "/v1/account", headers: [account.bearer])
        #expect(after.json["plan"]?.stringValue == "free", "\(after.text)")
    }
}
