import Crypto
import Foundation
import ProvisionerCore
import ProvisionerPlatform

/// What a build reports while it runs, for progress lines or JSON.
public enum BuildEvent: Sendable {
    /// A named phase started ("cleaning", "installing packages", "packing cache", …).
    case phase(String)
    /// Counted progress inside the phase ("downloaded 42/180").
    case progress(String, done: Int, total: Int?)
    /// A line of the tool's own output (for logs and --verbose).
    case output(String)
    case warning(String)
}

/// The seam to the tool that installs a Debian root: mmdebstrap here,
/// debootstrap as a fallback.
public protocol RootBuilder: Sendable {
    /// Installs `packages` into the empty directory `root`, running
    /// `essentialHook` (a shell command given the root as `$1`) before the
    /// packages beyond the essential set are configured.
    /// - Throws: `SystemError` with the tool's last lines.
    func build(root: String, packages: [String], config: SiteConfig, essentialHook: String,
               environment: [String: String], aptCache: String, events: (BuildEvent) -> Void) throws
}

/// What goes into a build: the site, the customization tree (`rootfs/`), the
/// site-rendered image files and what is installed on top.
public struct ImageBuildRequest: Sendable {
    public var config: SiteConfig
    public var image: String
    /// The `rootfs/` directory: `packages/*.list`, `hooks/`, `overlay/`, `systemd/`.
    public var rootfsDir: String
    /// Site-rendered files for the image (paths relative to the root: `etc/fstab`, …).
    public var siteFiles: [(path: String, contents: String)]
    /// A node-controller binary to install, if any.
    public var nodeController: String?
    /// authorized_keys for root, if any (root login stays locked otherwise).
    public var sshKeys: String?
    /// Reuse a cached base root with the same digest.
    public var useCache: Bool
    /// Activate the new generation when it is built.
    public var activate: Bool
    /// ISO 8601 time of the build, from the caller's clock.
    public var now: String

    public init(config: SiteConfig, image: String, rootfsDir: String, siteFiles: [(path: String, contents: String)], nodeController: String?, sshKeys: String?, useCache: Bool, activate: Bool, now: String) {
        self.config = config
        self.image = image
        self.rootfsDir = rootfsDir
        self.siteFiles = siteFiles
        self.nodeController = nodeController
        self.sshKeys = sshKeys
        self.useCache = useCache
        self.activate = activate
        self.now = now
    }
}

/// Builds a new generation beside the live one: lock → clean leftovers →
/// check disk → base root (cache or builder) → customize → kernel/initrd →
/// meta → rename into place → publish → (activate). Any failure removes the
/// partial directory and leaves the live generation untouched.
public struct ImageBuilder: Sendable {
    public let builder: any RootBuilder

    /// Free space a build needs without a cached base root, and with one.
    public static let neededBytes: Int64 = 2 << 30
    public static let neededBytesCached: Int64 = 1 << 30

    public init(builder: any RootBuilder = MmdebstrapBuilder()) { self.builder = builder }

    /// - Throws: `ConflictError` (busy, no disk), `ValidationError` (package
    ///   lists), `SystemError` (the tools).
    public func build(_ req: ImageBuildRequest, events: (BuildEvent) -> Void) throws -> GenerationMeta {
        let store = ImageStore(config: req.config, image: req.image)
        return try store.withLock {
            for dir in store.cleanLeftovers() { events(.warning("removed \(dir), left by a build that did not finish")) }
            let started = Date()
            let packages = try Self.packages(in: req.rootfsDir)
            let digest = try Self.baseDigest(req, packages: packages)
            let cached = "\(req.config.cacheDir)/roots/\(req.image)-\(digest.prefix(16)).tar.zst"
            let useCached = req.useCache && FileManager.default.fileExists(atPath: cached)
            try Self.checkDisk(req.config.imagesDir, needed: useCached ? Self.neededBytesCached : Self.neededBytes)

            let id = try store.allocateID()
            let partial = store.partialDir(id)
            let root = partial + "/root"
            try FileSystem.makeDirectory(root)
            do {
                let env = Self.environment(req)
                if useCached {
                    events(.phase("unpacking cached base root \((cached as NSString).lastPathComponent)"))
                    try ImageArchive.unpack(cached, into: root)
                } else {
                    events(.phase("installing \(packages.count) packages with mmdebstrap (\(req.config.suite), \(req.config.architecture))"))
                    try builder.build(root: root, packages: packages, config: req.config,
                                      essentialHook: "\"$PROVISIONER_ROOTFS/hooks/essential.sh\" \"$1\"",
                                      environment: env, aptCache: "\(req.config.cacheDir)/apt/\(req.config.suite)-\(req.config.architecture)",
                                      events: events)
                    if req.useCache {
                        events(.phase("packing base root into the cache"))
                        try FileSystem.makeDirectory(req.config.cacheDir + "/roots")
                        try ImageArchive.pack(root, to: cached)
                    }
                }
                events(.phase("customizing"))
                try Self.customize(root: root, req: req, env: env, events: events)

                events(.phase("collecting kernel and initrd"))
                let kernelVersion = try Self.collectBootFiles(root: root, into: partial)
                events(.phase("packing the root into one image (\(Paths.rootImageName), for root: ram)"))
                try Self.packRootImage(root: root, into: partial, events: events)
                let meta = GenerationMeta(
                    id: id, image: req.image, created: req.now, suite: req.config.suite,
                    architecture: req.config.architecture, kernelVersion: kernelVersion,
                    packageCount: Self.packageCount(root: root), sizeBytes: Self.treeSize(root),
                    baseDigest: digest, buildSeconds: (Date().timeIntervalSince(started) * 10).rounded() / 10,
                    fromCache: useCached)
                events(.phase("publishing kernel and initrd of \(id)\(req.activate ? ", activating it" : "")"))
                try store.install(meta, activate: req.activate)
                return meta
            } catch {
                events(.phase("build failed; removing \(partial)"))
                store.discard(id)
                throw error
            }
        }
    }

    /// The union of `rootfs/packages/*.list`, sorted and unique.
    /// - Throws: `ValidationError` for a bad name, `SystemError` when there is no list.
    public static func packages(in rootfsDir: String) throws -> [String] {
        let dir = rootfsDir + "/packages"
        let lists = FileSystem.list(dir).filter { $0.hasSuffix(".list") }.sorted()
        guard !lists.isEmpty else { throw SystemError("no package lists in \(dir) (expected *.list files)") }
        var all = Set<String>()
        for l in lists {
            let text = String(decoding: FileSystem.read(dir + "/" + l) ?? Data(), as: UTF8.self)
            all.formUnion(try PackageList.parse(text, file: "\(dir)/\(l)"))
        }
        return all.sorted()
    }

    /// The digest of everything the package stage reads: equal digests give the same base root.
    public static func baseDigest(_ req: ImageBuildRequest, packages: [String]) throws -> String {
        var h = SHA256()
        func add(_ s: String) { h.update(data: Data((s + "\u{0}").utf8)) }
        add("provisioner-base-v1")
        add(req.config.mirror); add(req.config.suite); add(req.config.architecture)
        packages.forEach(add)
        // An image for an Incus cloud has the cloud's packages from backports (`MmdebstrapBuilder.arguments`).
        if req.config.cloud?.engine == .incus { add("cloud:incus"); MmdebstrapBuilder.cloudPackages.forEach(add) }
        for rel in ["hooks/essential.sh"] + filesUnder(req.rootfsDir + "/overlay").map({ "overlay/" + $0 }) {
            add(rel)
            h.update(data: FileSystem.read(req.rootfsDir + "/" + rel) ?? Data())
        }
        for f in req.siteFiles.sorted(by: { $0.path < $1.path }) where f.path.hasPrefix("etc/initramfs-tools/") {
            add(f.path); add(f.contents)
        }
        return h.finalize().map { String(format: "%02x", $0) }.joined()
    }

    static func filesUnder(_ dir: String) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: dir) else { return [] }
        var out: [String] = []
        while let rel = e.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: dir + "/" + rel, isDirectory: &isDir), !isDir.boolValue { out.append(rel) }
        }
        return out.sorted()
    }

    /// - Throws: `ConflictError` when the file system of `dir` has less than `needed` free.
    static func checkDisk(_ dir: String, needed: Int64) throws {
        guard let free = FileSystem.freeBytes(at: dir) else { return }
        if free < needed {
            throw SystemError("not enough free disk for an image build: \(gib(free)) free at \(dir), needs \(gib(needed))")
        }
    }

    static func gib(_ b: Int64) -> String { String(format: "%.1f GiB", Double(b) / Double(1 << 30)) }

    /// What the hooks read (see rootfs/README.md).
    static func environment(_ req: ImageBuildRequest) -> [String: String] {
        [
            "PROVISIONER_ROOTFS": req.rootfsDir,
            "PROVISIONER_SITE_OVERLAY": siteOverlayDir(req),
            "PROVISIONER_NODE_CONTROLLER": req.nodeController ?? "",
            "PROVISIONER_SSH_KEYS": req.sshKeys ?? "",
        ]
    }

    static func siteOverlayDir(_ req: ImageBuildRequest) -> String { Paths.imageOverlay(req.config) }

    /// Writes the site files where the hooks read them, then runs `hooks/customize.sh ROOT`.
    static func customize(root: String, req: ImageBuildRequest, env: [String: String], events: (BuildEvent) -> Void) throws {
        var tail: [String] = []
        let status = try ProcessRunner.stream("/bin/sh", [req.rootfsDir + "/hooks/customize.sh", root], environment: env) { line in
            tail.append(line); if tail.count > 20 { tail.removeFirst() }
            events(.output(line))
        }
        guard status == 0 else {
            throw SystemError("customizing the root (hooks/customize.sh) failed with status \(status):\n" + tail.joined(separator: "\n"))
        }
    }

    /// The root as one squashfs, `root.squashfs` in the generation, which nodes of a
    /// `root: ram` profile fetch into RAM: zstd at level 3 in 1 MiB blocks (the lab's
    /// 1.1 GB root: 3.3 s and 324 MB on 2 cores, where zstd's default level took 107 s
    /// for 7% less). Written beside its final name and renamed.
    static func packRootImage(root: String, into genDir: String, events: (BuildEvent) -> Void) throws {
        guard let tool = ProcessRunner.which("mksquashfs") else {
            throw SystemError("mksquashfs is not installed (squashfs-tools): run `make deps`")
        }
        let target = genDir + "/" + Paths.rootImageName
        let partial = target + ".partial"
        var tail: [String] = []
        let status = try ProcessRunner.stream(tool, [root, partial, "-noappend", "-comp", "zstd", "-Xcompression-level", "3", "-b", "1M",
                                                     "-no-progress", "-quiet"]) { line in
            tail.append(line); if tail.count > 20 { tail.removeFirst() }
            events(.output(line))
        }
        guard status == 0 else {
            try? FileManager.default.removeItem(atPath: partial)
            throw SystemError("mksquashfs of \(root) failed with status \(status):\n" + tail.joined(separator: "\n"))
        }
        guard rename(partial, target) == 0 else {
            throw SystemError("renaming \(partial): \(String(cString: strerror(errno)))")
        }
    }

    /// Copies the root's kernel and initrd to `vmlinuz` and `initrd.img` of the generation.
    /// - Returns: the kernel version.
    static func collectBootFiles(root: String, into genDir: String) throws -> String {
        let kernels = FileSystem.list(root + "/boot").filter { $0.hasPrefix("vmlinuz-") }.sorted()
        guard let kernel = kernels.last else { throw SystemError("the built root has no kernel in \(root)/boot") }
        let version = String(kernel.dropFirst("vmlinuz-".count))
        let initrd = "\(root)/boot/initrd.img-\(version)"
        guard FileManager.default.fileExists(atPath: initrd) else { throw SystemError("the built root has no initrd for kernel \(version)") }
        try FileSystem.copyFile("\(root)/boot/\(kernel)", to: genDir + "/vmlinuz", mode: 0o644)
        try FileSystem.copyFile(initrd, to: genDir + "/initrd.img", mode: 0o644)
        return version
    }

    /// Installed packages in the root's dpkg database.
    static func packageCount(root: String) -> Int {
        let status = String(decoding: FileSystem.read(root + "/var/lib/dpkg/status") ?? Data(), as: UTF8.self)
        return status.components(separatedBy: "\nStatus: install ok installed").count - 1
    }

    /// Bytes of the regular files in a tree (hard links counted once), without crossing mounts.
    public static func treeSize(_ dir: String) -> Int64 {
        var total: Int64 = 0
        var seen = Set<UInt64>()
        var st = stat()
        guard lstat(dir, &st) == 0 else { return 0 }
        let dev = st.st_dev
        var stack = [dir]
        while let d = stack.popLast() {
            for name in FileSystem.list(d) {
                let p = d + "/" + name
                guard lstat(p, &st) == 0, st.st_dev == dev else { continue }
                switch st.st_mode & S_IFMT {
                case S_IFDIR: stack.append(p)
                case S_IFREG:
                    if st.st_nlink > 1 { if !seen.insert(UInt64(st.st_ino)).inserted { continue } }
                    total += Int64(st.st_size)
                default: break
                }
            }
        }
        return total
    }
}

/// Builds the base root with mmdebstrap in root mode, keeping downloaded
/// packages in a cache directory so a rebuild downloads nothing.
public struct MmdebstrapBuilder: RootBuilder {
    public init() {}

    public func build(root: String, packages: [String], config: SiteConfig, essentialHook: String,
                      environment: [String: String], aptCache: String, events: (BuildEvent) -> Void) throws {
        guard let tool = ProcessRunner.which("mmdebstrap") else {
            throw SystemError("mmdebstrap is not installed (apt-get install mmdebstrap)")
        }
        try FileSystem.makeDirectory(aptCache)
        let env = environment
        let args = Self.arguments(root: root, packages: packages, config: config, essentialHook: essentialHook, aptCache: aptCache)
        var tail: [String] = []
        var downloaded = 0, configured = 0
        var total: Int? = nil
        let status = try ProcessRunner.stream(tool, args, environment: env) { line in
            tail.append(line); if tail.count > 25 { tail.removeFirst() }
            events(.output(line))
            if line.hasPrefix("Get:") {
                downloaded += 1
                events(.progress("downloading", done: downloaded, total: total))
            } else if line.hasPrefix("Setting up ") {
                configured += 1
                events(.progress("configuring", done: configured, total: total))
            } else if let n = Self.newlyInstalled(line) {
                total = (total ?? 0) + n
            } else if line.hasPrefix("I: ") {
                events(.phase(String(line.dropFirst(3))))
            }
        }
        guard status == 0 else {
            throw SystemError("mmdebstrap failed with status \(status):\n" + tail.joined(separator: "\n"))
        }
    }

    /// The packages a site whose nodes join an Incus cluster adds to the
    /// image, from the suite's backports (Incus 6.0 LTS is in
    /// bookworm-backports): the daemon (containers) and lxcfs.
    public static let cloudPackages = ["incus-base", "lxcfs"]

    /// mmdebstrap's arguments. With an Incus cloud the backports suite is an
    /// extra source, pinned low by Debian as always (nothing else comes from
    /// it), and the cloud's packages are installed from it by name.
    public static func arguments(root: String, packages: [String], config: SiteConfig, essentialHook: String, aptCache: String) -> [String] {
        let incus = config.cloud?.engine == .incus
        var args = [
            "--mode=root", "--variant=minbase", "--verbose",
            "--architectures=\(config.architecture)",
            "--include=\(packages.joined(separator: ","))",
            "--skip=essential/unlink",
            "--setup-hook=mkdir -p \"$1\"/var/cache/apt/archives/",
            // Special hooks take literal paths (no shell): the cache path is a checked config path.
            "--setup-hook=sync-in \(aptCache) /var/cache/apt/archives/",
            "--essential-hook=\(essentialHook)",
        ]
        if incus {
            // Suite and mirror are checked words and URLs (SiteConfig): safe in a shell hook.
            args.append("--customize-hook=chroot \"$1\" apt-get install -y -q --no-install-recommends -t \(config.suite)-backports "
                        + cloudPackages.joined(separator: " "))
        }
        args += [
            "--customize-hook=sync-out /var/cache/apt/archives \(aptCache)",
            "--customize-hook=rm -f \"$1\"/var/cache/apt/archives/*.deb \"$1\"/var/cache/apt/archives/partial/*.deb",
            config.suite, root, config.mirror,
        ]
        if incus { args.append("deb \(config.mirror) \(config.suite)-backports main") }
        return args
    }

    /// apt's "N upgraded, M newly installed, …" line.
    static func newlyInstalled(_ line: String) -> Int? {
        guard let r = line.range(of: " newly installed") else { return nil }
        let before = line[..<r.lowerBound]
        return before.split(separator: " ").last.flatMap { Int($0) }
    }
}
