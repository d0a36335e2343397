/// How the appliance talks to a node's BMC.
public enum BMCDriver: String, Sendable, CaseIterable, Codable {
    /// DMTF Redfish over HTTP(S): `ComputerSystem.Reset`, a `Boot` override PATCH.
    case redfish
    /// IPMI 2.0 over LAN (RMCP+), through `ipmitool -I lanplus`.
    case ipmi
}

/// What to do with a node's power.
public enum PowerAction: String, Sendable, CaseIterable, Codable {
    case on, off, cycle, status
}

/// A node's BMC: its driver, address, user and the file its password is
/// read from. The password itself is never stored, shown, logged or put on a
/// command line: only the path of a 0600 file is.
public struct BMCSettings: Sendable, Equatable, Codable {
    public var driver: BMCDriver
    /// redfish: `http(s)://host[:port]`; ipmi: `host[:port]` (UDP, 623 by default).
    public var address: String
    public var user: String
    /// Absolute path of the password file.
    public var passwordFile: String
    /// Redfish: the system's id under `/redfish/v1/Systems/`, when the BMC manages several.
    public var system: String?

    enum CodingKeys: String, CodingKey {
        case driver, address, user, system
        case passwordFile = "password_file"
    }

    public init(driver: BMCDriver, address: String, user: String, passwordFile: String, system: String? = nil) {
        self.driver = driver
        self.address = address
        self.user = user
        self.passwordFile = passwordFile
        self.system = system
    }

    /// Parses and validates operator input; every value is then safe in a URL, an argv element and a log line.
    /// - Throws: `ValidationError` naming the field (`BMC driver`, `BMC address`, …) and value.
    public init(parsingDriver driver: String, address: String, user: String, passwordFile: String, system: String?) throws(ValidationError) {
        let kind = try Self.parseDriver(driver, field: "BMC driver")
        try Self.checkAddress(address, driver: kind)
        try Self.checkUser(user, field: "BMC user")
        try Self.checkPasswordFile(passwordFile, field: "BMC password file")
        if let system {
            guard kind == .redfish else { throw ValidationError(field: "BMC system", value: system, reason: "only Redfish BMCs manage several systems") }
            guard !system.isEmpty, system.utf8.count <= 128, isSafeToken(system, extra: "._-") else {
                throw ValidationError(field: "BMC system", value: system, reason: "a Redfish system id: letters, digits and . _ -")
            }
        }
        self.init(driver: kind, address: address, user: user, passwordFile: passwordFile, system: system)
    }

    static func parseDriver(_ driver: String, field: String) throws(ValidationError) -> BMCDriver {
        guard let kind = BMCDriver(rawValue: driver) else {
            throw ValidationError(field: field, value: driver, reason: "expected " + BMCDriver.allCases.map(\.rawValue).joined(separator: " or "))
        }
        return kind
    }

    static func checkUser(_ user: String, field: String) throws(ValidationError) {
        guard !user.isEmpty, user.utf8.count <= 64, isSafeToken(user, extra: "._-@") else {
            throw ValidationError(field: field, value: user, reason: "1 to 64 letters, digits and . _ - @")
        }
    }

    static func checkPasswordFile(_ path: String, field: String) throws(ValidationError) {
        guard path.hasPrefix("/"), path.utf8.count <= 1024, isSafeToken(path, extra: "/._-@+") else {
            throw ValidationError(field: field, value: path, reason: "an absolute path of letters, digits and / . _ - @ +")
        }
    }

    static func checkAddress(_ address: String, driver: BMCDriver) throws(ValidationError) {
        func bad(_ reason: String) -> ValidationError { ValidationError(field: "BMC address", value: address, reason: reason) }
        var rest = Substring(address)
        if driver == .redfish {
            if rest.hasPrefix("https://") { rest = rest.dropFirst(8) } else if rest.hasPrefix("http://") { rest = rest.dropFirst(7) } else {
                throw bad("a Redfish BMC is http(s)://host[:port]")
            }
            if rest.hasSuffix("/") { rest = rest.dropLast() }
        }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts[0].utf8.count <= 253, isSafeToken(String(parts[0]), extra: ".-") else {
            throw bad(driver == .redfish ? "expected http(s)://host[:port]" : "expected host[:port]")
        }
        if parts.count == 2 {
            guard let port = Int(parts[1]), (1...65535).contains(port) else { throw bad("the port must be 1 to 65535") }
        }
    }

    /// Host and port of the address (the driver's default port when none is given).
    public var endpoint: (host: String, port: Int) {
        var rest = Substring(address)
        var port = 623
        if rest.hasPrefix("https://") { rest = rest.dropFirst(8); port = 443 } else if rest.hasPrefix("http://") { rest = rest.dropFirst(7); port = 80 }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        let parts = rest.split(separator: ":")
        return (String(parts.first ?? ""), parts.count > 1 ? Int(parts[1]) ?? port : port)
    }

    /// `redfish http://10.0.1.5 (admin)`: no secret in it.
    public var summary: String { "\(driver.rawValue) \(address)\(system.map { " system \($0)" } ?? "") (user \(user))" }
}


/// What the BMCs of a profile's nodes share (`profiles.NAME.bmc` in the site
/// config): a node's own settings take what they do not give from here.
public struct BMCDefaults: Sendable, Equatable {
    public var driver: BMCDriver?
    public var user: String?
    public var passwordFile: String?

    public init(driver: BMCDriver? = nil, user: String? = nil, passwordFile: String? = nil) {
        self.driver = driver
        self.user = user
        self.passwordFile = passwordFile
    }

    /// - Throws: `ValidationError` naming `field`.driver / .user / .password_file.
    public init(parsingDriver driver: String?, user: String?, passwordFile: String?, field: String) throws(ValidationError) {
        self.driver = try driver.map { d throws(ValidationError) in try BMCSettings.parseDriver(d, field: field + ".driver") }
        if let user { try BMCSettings.checkUser(user, field: field + ".user") }
        if let passwordFile { try BMCSettings.checkPasswordFile(passwordFile, field: field + ".password_file") }
        self.user = user
        self.passwordFile = passwordFile
    }

    /// A node's BMC from what the operator gave, the rest from these defaults.
    /// - Throws: `ValidationError` naming what is missing from both, or a bad value.
    public func settings(driver: String?, address: String, user: String?, passwordFile: String?, system: String?, profile: String) throws(ValidationError) -> BMCSettings {
        func missing(_ option: String, _ key: String) -> ValidationError {
            ValidationError(field: "BMC \(key.replacingOccurrences(of: "_", with: " "))", value: "", reason: "give --\(option), or set profiles.\(profile).bmc.\(key) in the site config")
        }
        guard let d = driver ?? self.driver?.rawValue else { throw missing("driver", "driver") }
        guard let u = user ?? self.user else { throw missing("user", "user") }
        guard let p = passwordFile ?? self.passwordFile else { throw missing("password-file", "password_file") }
        return try BMCSettings(parsingDriver: d, address: address, user: u, passwordFile: p, system: system)
    }
}
