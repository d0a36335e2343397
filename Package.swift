// swift-tools-version: 6.2
import PackageDescription

// Targets by concern, bottom to top; each depends only on targets above it in
// this list (docs/development.md draws the arrows). Each opens with an overview
// in Sources/<Target>/<Target>.swift.
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
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
    ],
    targets: [
        // System libraries used for real (see ../shared/LAB-NOTES.md).
        .systemLibrary(name: "CLibvirt", pkgConfig: "libvirt", providers: [.apt(["libvirt-dev"])]),
        // The node controller's TLS (Debian's OpenSSL, updated with the node image's packages).
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
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
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // The host: files (atomic writes), processes, what ships beside the binary
        // (templates/, rootfs/, api/, the node controller), secret files, the site's
        // TLS certificates (swift-certificates), and libnfs (an export as a node sees it).
        .target(
            name: "ProvisionerPlatform",
            dependencies: [
                "ProvisionerCore", "CNFS",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The boot daemons (dnsmasq, nfs-ganesha, the kernel NFS server) and the
        // apply pipeline: render, plan, validate, write, reload.
        .target(
            name: "ProvisionerBoot",
            dependencies: ["ProvisionerCore", "ProvisionerPlatform", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // Node root images: the mmdebstrap builder, the generation store, archives
        // (libarchive) and the verifier.
        .target(
            name: "ProvisionerImages",
            dependencies: ["ProvisionerCore", "ProvisionerPlatform", "CArchive", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // BMC power: IPMI (ipmitool) and Redfish (HTTP and HTTPS, AsyncHTTPClient
        // rather than Foundation's libcurl).
        .target(
            name: "ProvisionerBMC",
            dependencies: [
                "ProvisionerAPI", "ProvisionerCore", "ProvisionerPlatform",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // The cloud the nodes join: Incus's REST API (over a daemon's local socket, or
        // HTTPS with a client certificate and the cluster's certificate pinned).
        .target(
            name: "ProvisionerCloud",
            dependencies: [
                "ProvisionerAPI", "ProvisionerCore", "ProvisionerPlatform",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // The application layer: `Site`, where every use case lives once (set-up,
        // apply, nodes, images, power, rollouts, the cluster report). The CLI, serve,
        // the lab and the tests all call it.
        .target(
            name: "ProvisionerSite",
            dependencies: [
                "ProvisionerAPI", "ProvisionerCore", "ProvisionerStore", "ProvisionerPlatform",
                "ProvisionerBoot", "ProvisionerImages", "ProvisionerBMC", "ProvisionerCloud",
            ]
        ),
        // `provisioner serve`: the HTTP server (boot scripts, images, the node agent
        // API, the operator API, status page, metrics) and the supervisor of
        // dnsmasq, rpcbind and ganesha.
        .target(
            name: "ProvisionerServer",
            dependencies: [
                "ProvisionerAPI", "ProvisionerCore", "ProvisionerStore", "ProvisionerPlatform",
                "ProvisionerBoot", "ProvisionerImages", "ProvisionerBMC", "ProvisionerSite", "ProvisionerCloud",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The virtual lab: QEMU nodes, serve and the BMC emulators in a network
        // namespace. A test and demo harness; nothing in the product depends on it.
        .target(
            name: "ProvisionerLab",
            dependencies: [
                "ProvisionerAPI", "ProvisionerCore", "ProvisionerStore", "ProvisionerPlatform",
                "ProvisionerBoot", "ProvisionerImages", "ProvisionerBMC", "ProvisionerSite",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The operator's CLI: wiring only.
        .executableTarget(
            name: "provisioner",
            dependencies: [
                "ProvisionerAPI", "ProvisionerCore", "ProvisionerStore", "ProvisionerPlatform",
                "ProvisionerBoot", "ProvisionerImages", "ProvisionerBMC", "ProvisionerSite",
                "ProvisionerServer", "ProvisionerLab",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The node controller's logic: identity, libvirt capacity and domains, the server client.
        .target(
            name: "NodeControllerKit",
            dependencies: ["ProvisionerAPI", "CLibvirt", "COpenSSL"]
        ),
        // Runs on every booted node (built with --static-swift-stdlib for the image).
        .executableTarget(
            name: "node-controller",
            dependencies: ["NodeControllerKit"]
        ),

        // Tests mirror the targets. TestSupport is what several test targets share:
        // a real PostgreSQL server for the run, the CLI runner, temporary sites,
        // serve in a namespace, fake generations, fake BMCs and a test clock.
        .target(
            name: "TestSupport",
            dependencies: ["ProvisionerAPI", "ProvisionerCore", "ProvisionerStore", "ProvisionerPlatform", "ProvisionerImages", "ProvisionerBMC"],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "ProvisionerCoreTests", dependencies: ["ProvisionerCore", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "ProvisionerStoreTests", dependencies: ["ProvisionerStore", "ProvisionerPlatform", "TestSupport"]),
        // Fixtures and goldens are read from the source tree (RECORD_GOLDENS=1 rewrites the goldens there).
        .testTarget(
            name: "ProvisionerBootTests",
            dependencies: ["ProvisionerBoot", "ProvisionerCore", "ProvisionerStore", "ProvisionerPlatform", "TestSupport"],
            exclude: ["Fixtures", "Goldens"]
        ),
        .testTarget(name: "ProvisionerImagesTests", dependencies: ["ProvisionerImages", "ProvisionerAPI", "ProvisionerCore", "ProvisionerPlatform", "TestSupport"]),
        .testTarget(name: "ProvisionerSiteTests", dependencies: ["ProvisionerSite", "ProvisionerAPI", "ProvisionerCore", "ProvisionerStore", "ProvisionerBMC", "TestSupport"]),
        .testTarget(
            name: "ProvisionerServerTests",
            dependencies: [
                "ProvisionerServer", "ProvisionerAPI", "ProvisionerCore", "ProvisionerStore", "ProvisionerSite", "ProvisionerBMC", "ProvisionerLab", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"), .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(name: "ProvisionerLabTests", dependencies: ["ProvisionerLab"]),
        .testTarget(name: "NodeControllerKitTests", dependencies: ["NodeControllerKit"], exclude: ["Fixtures"]),
        // The CLI as an operator runs it: the real binary, hermetic (a temporary home, no daemons).
        .testTarget(name: "ProvisionerCLITests", dependencies: ["ProvisionerCore", "TestSupport", "provisioner"]),
        // What needs root, network namespaces, real daemons or QEMU: dnsmasq, nfs-ganesha,
        // mmdebstrap, libvirt, PostgreSQL, the BMC emulators, the virtual lab.
        .testTarget(
            name: "SystemTests",
            dependencies: [
                "ProvisionerAPI", "ProvisionerCore", "ProvisionerPlatform", "ProvisionerBoot", "ProvisionerImages",
                "ProvisionerBMC", "ProvisionerSite", "ProvisionerLab", "NodeControllerKit", "TestSupport", "provisioner",
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// A compiler warning is a defect like a failing test: every target of ours
// treats warnings as errors (the dependencies are not affected).
for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + [.treatAllWarnings(as: .error)]
}
