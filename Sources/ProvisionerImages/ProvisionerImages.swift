// ProvisionerImages: the node root images.
//
// `ImageBuilder` builds a generation with a `RootBuilder` (mmdebstrap) and the
// rootfs/ customization, beside the live one; `ImageStore` keeps the
// generations, publishes one with a single rename, and packs its squashfs for
// RAM roots; `ImageArchive` exports and imports generations (libarchive);
// `ImageVerifier` checks a generation as a node would see it (kernel, initrd,
// node controller, the export through libnfs).
