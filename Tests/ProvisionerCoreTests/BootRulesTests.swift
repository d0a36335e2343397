import ProvisionerAPI
import ProvisionerCore
import Testing

/// The boot-phase rules and the instance rule, as tables.
struct BootRulesTests {
    typealias Current = (state: NodeState, phases: [BootPhase: String])

    @Test func dhcpAnswersBecomePhases() {
        let booting: Current = (.booting, [.dhcp: "t1"])
        let fetched: Current = (.booting, [.dhcp: "t1", .initrd: "t3"])
        let rows: [(String, String?, Current?, BootPhase?, Bool)] = [
            ("add", "PXEClient:Arch:00000:UNDI:002001", nil, .dhcp, true),          // firmware: a new boot
            ("old", "PXEClient:Arch:00007", (.ready, [:]), .dhcp, true),            // a ready node boots again
            ("add", "PXEClient:Arch:00000", booting, .dhcpIPXE, false),             // iPXE chain-loaded asks again
            ("add", "PXEClient:Arch:00000", fetched, .dhcp, true),                  // after the initrd: a new boot
            ("add", "Linux ipconfig", booting, .dhcpInitramfs, false),             // the initramfs
            ("old", nil, booting, nil, false),                                     // dnsmasq's start-up replay
            ("add", "", booting, nil, false),
            ("del", "PXEClient", booting, nil, false),
        ]
        for (action, vendor, current, phase, newBoot) in rows {
            let got = BootRules.dhcpPhase(action: action, vendorClass: vendor, current: current)
            #expect(got?.phase == phase && (got?.newBoot ?? false) == newBoot, "\(action) \(vendor ?? "nil"): \(String(describing: got))")
        }
    }

    @Test func aNewBootKeepsRecentEarlyFetchesAndStartsAtTheEarliest() {
        let before: [BootPhase: String] = [.dhcp: "10:00:00", .ipxe: "10:05:01", .kernel: "10:05:02", .enrolled: "10:01:00", .initrd: "09:00:00"]
        let (phases, started) = BootRules.merge(before, event: .dhcp, at: "10:05:03", newBoot: true, keepSince: "10:04:03")
        #expect(phases == [.ipxe: "10:05:01", .kernel: "10:05:02", .dhcp: "10:05:01"])
        #expect(started == "10:05:01")
        let fresh = BootRules.merge(before, event: .dhcp, at: "11:00:00", newBoot: true, keepSince: "10:59:00")
        #expect(fresh.phases == [.dhcp: "11:00:00"] && fresh.started == "11:00:00")
        let next = BootRules.merge(phases, event: .initrd, at: "10:05:09", newBoot: false, keepSince: "")
        #expect(next.phases[.initrd] == "10:05:09" && next.phases.count == 4 && next.started == nil)
    }

    static func spec(_ id: String) -> InstanceSpec { InstanceSpec(id: id, vcpus: 1, memoryMiB: 64, kernel: "/k") }
    static func status(_ id: String, _ state: InstanceState, _ message: String? = nil) -> InstanceStatus {
        InstanceStatus(id: id, state: state, vcpus: 1, memoryMiB: 64, message: message)
    }

    @Test func reconcileTable() {
        typealias W = InstanceReconcile.Wanted
        let rows: [(W, [InstanceStatus], run: Bool, terminate: Bool, update: InstanceReconcile.Update?)] = [
            // Wanted running, never reported: start it.
            (W(spec: Self.spec("a"), desired: .running, state: .pending), [], true, false, nil),
            (W(spec: Self.spec("a"), desired: .running, state: nil), [], true, false, nil),
            // Running before, now gone from the node (it rebooted): start it again.
            (W(spec: Self.spec("a"), desired: .running, state: .running), [], true, false, nil),
            // Crashed or failed and gone: not restarted by the rule.
            (W(spec: Self.spec("a"), desired: .running, state: .failed), [], false, false, nil),
            // Reported in a new state: recorded, with the node's message.
            (W(spec: Self.spec("a"), desired: .running, state: .pending), [Self.status("a", .running)], false, false,
             .init(id: "a", state: .running, reported: .some(nil))),
            (W(spec: Self.spec("a"), desired: .running, state: .running), [Self.status("a", .crashed, "oops")], false, false,
             .init(id: "a", state: .crashed, reported: .some("oops"))),
            // Unchanged: nothing to do.
            (W(spec: Self.spec("a"), desired: .running, state: .running), [Self.status("a", .running)], false, false, nil),
            // Wanted terminated and still reported: stop it.
            (W(spec: Self.spec("a"), desired: .terminated, state: .running), [Self.status("a", .running)], false, true, nil),
            // Wanted terminated and gone: recorded terminated, its message kept.
            (W(spec: Self.spec("a"), desired: .terminated, state: .running), [], false, false, .init(id: "a", state: .terminated, reported: nil)),
            (W(spec: Self.spec("a"), desired: .terminated, state: .terminated), [], false, false, nil),
        ]
        for (wanted, reported, run, terminate, update) in rows {
            let out = InstanceReconcile.reconcile([wanted], reported: reported + [Self.status("stranger", .running)])
            #expect(out.run.map(\.id) == (run ? ["a"] : []), "\(wanted) \(reported)")
            #expect(out.terminate == (terminate ? ["a"] : []), "\(wanted) \(reported)")
            #expect(out.updates == (update.map { [$0] } ?? []), "\(wanted) \(reported): \(out.updates)")
        }
    }

    /// What the lease script hands serve is input: each field is checked, and a bad one is named.
    @Test func leaseEventsAreCheckedFieldByField() throws {
        func json(_ s: String) -> [UInt8] { Array(s.utf8) }
        let good = try DHCPLeaseEvent.parse(json(#"{"action":"add","mac":"52:54:00:AA:00:01","ip":"10.0.0.5","vendor_class":"PXEClient"}"#))
        #expect(good.mac.description == "52:54:00:aa:00:01" && good.ip.description == "10.0.0.5" && good.event.vendorClass == "PXEClient")
        #expect(try DHCPLeaseEvent.parse(json(#"{"action":"old","mac":"52:54:00:aa:00:01","ip":"10.0.0.5"}"#)).event.vendorClass == nil)
        let bad: [(String, String)] = [
            ("not json", "dhcp event"),
            (#"{"mac":"52:54:00:aa:00:01","ip":"10.0.0.5"}"#, "dhcp event"),
            (#"{"action":"rm -rf","mac":"52:54:00:aa:00:01","ip":"10.0.0.5"}"#, "action"),
            (#"{"action":"add","mac":"52:54:00:aa:00","ip":"10.0.0.5"}"#, "MAC address"),
            (#"{"action":"add","mac":"52:54:00:aa:00:01","ip":"10.0.0.500"}"#, "ip"),
            (#"{"action":"add","mac":"52:54:00:aa:00:01","ip":"10.0.0.5","vendor_class":"PXE\u001b[2J"}"#, "vendor_class"),
            (#"{"action":"add","mac":"52:54:00:aa:00:01","ip":"10.0.0.5","vendor_class":"\#(String(repeating: "x", count: 256))"}"#, "vendor_class"),
        ]
        for (input, field) in bad {
            #expect(throws: ValidationError.self, "\(input)") { _ = try DHCPLeaseEvent.parse(json(input)) }
            do { _ = try DHCPLeaseEvent.parse(json(input)) } catch let error as ValidationError {
                #expect(error.field == field, "\(input): \(error.field)")
            }
        }
    }
}
