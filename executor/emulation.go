package executor

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/util/archutil"
)

// binfmtDir is where the kernel lists registered binfmt_misc handlers.
var binfmtDir = "/proc/sys/fs/binfmt_misc"

// qemuNames maps GOARCH to QEMU's name for it.
var qemuNames = map[string]string{"amd64": "x86_64", "arm64": "aarch64", "arm": "arm", "386": "i386",
	"s390x": "s390x", "riscv64": "riscv64", "ppc64le": "ppc64le", "ppc64": "ppc64", "mips64le": "mips64el",
	"mips64": "mips64", "mipsle": "mipsel", "mips": "mips", "loong64": "loongarch64"}

// CheckEmulation fails, before anything is built, when RUN steps for platform could not execute on this host:
// a foreign architecture needs a QEMU binfmt_misc handler.
func CheckEmulation(platform string) error {
	arch := platform
	if parts := strings.Split(platform, "/"); len(parts) >= 2 {
		arch = parts[1]
	}
	if nativeArch(arch) {
		return nil
	}
	qemu, ok := qemuNames[arch]
	if !ok {
		return fmt.Errorf("cannot build for %s on this %s host: no known emulator for %s", platform, runtime.GOARCH, arch)
	}
	handler := binfmtDir + "/qemu-" + qemu
	data, err := os.ReadFile(handler)
	if err == nil && strings.HasPrefix(string(data), "enabled") {
		return nil
	}
	// Inside a container binfmt_misc is not mounted, yet the kernel runs foreign binaries through the host's
	// handlers registered with the F flag: whether the platform runs is asked of it, by executing BuildKit's
	// probe binaries.
	if runs(platform) {
		return nil
	}
	return fmt.Errorf("cannot build for %s on this %s host: no binfmt_misc handler for %s (%s); install "+
		"qemu-user-static and register it, e.g. as root: mount -t binfmt_misc binfmt_misc %s 2>/dev/null; "+
		"grep -v '^#' /usr/lib/binfmt.d/qemu-%s.conf > %s/register (in a container: on its host, with the F flag, "+
		"which Debian's qemu-user-static sets)", platform, runtime.GOARCH, qemu, handler,
		binfmtDir, qemu, binfmtDir)
}

// nativeArch reports whether the host runs arch's binaries without emulation.
func nativeArch(arch string) bool {
	if arch == runtime.GOARCH {
		return true
	}
	return (runtime.GOARCH == "amd64" && arch == "386") || (runtime.GOARCH == "arm64" && arch == "arm")
}

// runs reports whether BuildKit's probe binary for platform executes here (natively or emulated); the probes
// run once per process.
var runs = func(platform string) bool {
	want, err := platforms.Parse(platform)
	if err != nil {
		return false
	}
	match := platforms.Only(want)
	for _, p := range archutil.SupportedPlatforms(false) {
		if match.Match(p) {
			return true
		}
	}
	return false
}
