import Testing
@testable import ProvisionerServer

/// RFC 9110's byte ranges, as the static boot files answer them.
struct RangeMiddlewareTests {
    @Test(arguments: [
        ("bytes=0-99", RangeMiddleware.Resolution.asked("bytes=0-99")),
        ("bytes=1000-", .asked("bytes=1000-4095")),
        ("bytes=4000-9999", .asked("bytes=4000-4095")),
        ("bytes=-500", .asked("bytes=3596-4095")),
        ("bytes=-99999", .asked("bytes=0-4095")),
        ("bytes=4095-4095", .asked("bytes=4095-4095")),
        ("bytes=4096-", .unsatisfiable),
        ("bytes=99999999-100000000", .unsatisfiable),
        ("bytes=-0", .unsatisfiable),
        ("bytes=0-1,5-6", .ignore),
        ("items=0-1", .ignore),
        ("bytes=9-3", .ignore),
        ("bytes=a-b", .ignore),
        ("bytes=--1", .ignore),
        ("bytes=٣-", .ignore),
    ])
    func aRangeOfA4KiBFile(header: String, expected: RangeMiddleware.Resolution) {
        #expect(RangeMiddleware.resolve(header, size: 4096) == expected, "\(header)")
    }

    @Test func anEmptyFileHasNoRange() {
        #expect(RangeMiddleware.resolve("bytes=0-", size: 0) == .unsatisfiable)
        #expect(RangeMiddleware.resolve("bytes=-5", size: 0) == .unsatisfiable)
    }

    @Test func onlyPathsUnderTheRootsAndNeverUpward() {
        let roots = [(prefix: "/images", dir: "/srv/http/images")]
        #expect(RangeMiddleware.file("/images/default/g1/vmlinuz", roots: roots) == "/srv/http/images/default/g1/vmlinuz")
        #expect(RangeMiddleware.file("/images/../api.token", roots: roots) == nil)
        #expect(RangeMiddleware.file("/imagesX/a", roots: roots) == nil)
        #expect(RangeMiddleware.file("/boot/x.ipxe", roots: roots) == nil)
    }
}
