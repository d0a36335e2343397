// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "Provisioner",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "provisioner", targets: ["provisioner"]),
        .executable(name: "node-controller", targets: ["node-controller"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.65.0"),
    ],
    targets: [
        // System libraries used for real (see ../shared/LAB-NOTES.md).
        .systemLibrary(name: "CLibvirt", pkgConfig: "libvirt", providers: [.apt(["libvirt-dev"])]),
        .systemLibrary(name: "CNFS", pkgConfig: "libnfs", providers: [.apt(["libnfs-dev"])]),
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),

        // The JSON contract between serve and the node controllers. No dependencies.
        .target(name: "ProvisionerAPI"),
        // Domain types, validation, allocation, parsing and rendering. No I/O.
        .target(
            name: "ProvisionerCore",
            dependencies: [
                "ProvisionerAPI",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The node registry: SQLite (GRDB over the system libsqlite3), the embedded
        // default, and PostgreSQL (postgres-nio) for several boot servers.
        .target(
            name: "ProvisionerStore",
            dependencies: [
                "ProvisionerCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        // Adapters to the system (files, processes, dnsmasq, ganesha, mmdebstrap,
        // libarchive, libnfs) and the apply and image pipelines.
        .target(
            name: "ProvisionerServices",
            dependencies: [
                "ProvisionerCore", "ProvisionerStore", "CArchive", "CNFS",
                .product(name: "Crypto", package: "swift-crypto"),
                // Redfish BMCs (HTTP and HTTPS) without Foundation's libcurl.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // `provisioner serve`: the HTTP server (boot scripts, images, API,
        // status page, metrics) and the supervisor of dnsmasq, rpcbind and ganesha.
        .target(
            name: "ProvisionerServer",
            dependencies: [
                "ProvisionerAPI",
                "ProvisionerCore",
                "ProvisionerStore",
                "ProvisionerServices",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The operator's CLI: wiring only.
        .executableTarget(
            name: "provisioner",
            dependencies: [
                "ProvisionerAPI",
                "ProvisionerCore",
                "ProvisionerStore",
                "ProvisionerServices",
                "ProvisionerServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The node controller's logic: identity, libvirt capacity and domains, the server client.
        .target(
            name: "NodeControllerKit",
            dependencies: ["ProvisionerAPI", "CLibvirt"]
        ),
        // Runs on every booted node (built with --static-swift-stdlib for the image).
        .executableTarget(
            name: "node-controller",
            dependencies: ["NodeControllerKit"]
        ),
        .testTarget(name: "ProvisionerCoreTests", dependencies: ["ProvisionerCore"]),
        // What several test targets share: a real PostgreSQL server started for the test run.
        .target(name: "TestSupport", dependencies: ["ProvisionerStore", "ProvisionerServices"], path: "Tests/TestSupport"),
        .testTarget(name: "ProvisionerStoreTests", dependencies: ["ProvisionerStore", "TestSupport"]),
        // Fixtures and goldens are read from the source tree (RECORD_GOLDENS=1 rewrites the goldens there).
        .testTarget(name: "ProvisionerServicesTests", dependencies: ["ProvisionerServices", "ProvisionerCore"], exclude: ["Fixtures", "Goldens"]),
        .testTarget(
            name: "ProvisionerServerTests",
            dependencies: [
                "ProvisionerServer", "ProvisionerAPI", "ProvisionerCore", "ProvisionerStore", "ProvisionerServices",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(name: "NodeControllerKitTests", dependencies: ["NodeControllerKit"], exclude: ["Fixtures"]),
        .testTarget(name: "ProvisionerCLITests", dependencies: ["ProvisionerCore", "ProvisionerServices", "NodeControllerKit", "TestSupport", "provisioner"]),
    ],
    swiftLanguageModes: [.v6]
)
