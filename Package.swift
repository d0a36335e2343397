// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "Provisioner",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "provisioner", targets: ["provisioner"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.0.0"),
    ],
    targets: [
        // Domain types, validation, allocation, parsing and rendering. No I/O.
        .target(
            name: "ProvisionerCore",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        // The SQLite node registry (GRDB over the system libsqlite3).
        .target(
            name: "ProvisionerStore",
            dependencies: [
                "ProvisionerCore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // Adapters to the system (files, processes, dnsmasq) and the apply pipeline.
        .target(
            name: "ProvisionerServices",
            dependencies: ["ProvisionerCore"]
        ),
        // The operator's CLI: wiring only.
        .executableTarget(
            name: "provisioner",
            dependencies: [
                "ProvisionerCore",
                "ProvisionerStore",
                "ProvisionerServices",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "ProvisionerCoreTests", dependencies: ["ProvisionerCore"]),
        .testTarget(name: "ProvisionerStoreTests", dependencies: ["ProvisionerStore"]),
        .testTarget(name: "ProvisionerServicesTests", dependencies: ["ProvisionerServices", "ProvisionerCore"]),
        .testTarget(name: "ProvisionerCLITests", dependencies: ["ProvisionerCore", "provisioner"]),
    ],
    swiftLanguageModes: [.v6]
)
