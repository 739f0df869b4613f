package snapshot

// ArchName is the name linuxkit gives one platform's image of a package tag in its cache and registry:
// <repo>:<tag>-<arch>, next to the multi-arch index <repo>:<tag>.
func ArchName(name, arch string) string { return name + "-" + arch }
