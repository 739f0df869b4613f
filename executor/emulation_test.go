package executor

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestCheckEmulation(t *testing.T) {
	dir := t.TempDir()
	old := binfmtDir
	binfmtDir = dir
	emulated := false
	oldRuns := runs
	runs = func(string) bool { return emulated }
	t.Cleanup(func() { binfmtDir, runs = old, oldRuns })
	foreign, qemu := "s390x", "s390x"
	if runtime.GOARCH == "s390x" {
		foreign, qemu = "arm64", "aarch64"
	}
	if err := CheckEmulation("linux/" + runtime.GOARCH); err != nil {
		t.Fatalf("the host architecture needs no emulator: %v", err)
	}
	err := CheckEmulation("linux/" + foreign)
	if err == nil || !strings.Contains(err.Error(), "no binfmt_misc handler for "+qemu) ||
		!strings.Contains(err.Error(), "qemu-user-static") || !strings.Contains(err.Error(), "qemu-"+qemu+".conf") {
		t.Fatalf("missing handler: got %v", err)
	}
	handler := filepath.Join(dir, "qemu-"+qemu)
	if err := os.WriteFile(handler, []byte("disabled\ninterpreter /usr/libexec/qemu-binfmt/x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if CheckEmulation("linux/"+foreign) == nil {
		t.Fatal("a disabled handler must not count")
	}
	if err := os.WriteFile(handler, []byte("enabled\ninterpreter /usr/libexec/qemu-binfmt/x\nflags: POCF\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckEmulation("linux/" + foreign); err != nil {
		t.Fatalf("an enabled handler: %v", err)
	}
	// A container has no binfmt_misc mount, yet the host's handlers (F flag) run its foreign binaries.
	if err := os.Remove(handler); err != nil {
		t.Fatal(err)
	}
	emulated = true
	if err := CheckEmulation("linux/" + foreign); err != nil {
		t.Fatalf("a platform that runs without a handler file: %v", err)
	}
	if err := CheckEmulation("linux/sparc64"); err == nil || !strings.Contains(err.Error(), "no known emulator") {
		t.Fatalf("unknown arch: %v", err)
	}
}

// TestRunsAsksTheKernel runs BuildKit's probe binaries: the host's architecture always runs, and so does every
// architecture whose binfmt_misc handler this host has enabled.
func TestRunsAsksTheKernel(t *testing.T) {
	if !runs("linux/" + runtime.GOARCH) {
		t.Fatalf("linux/%s does not run on a %s host", runtime.GOARCH, runtime.GOARCH)
	}
	for arch, qemu := range map[string]string{"arm64": "aarch64", "s390x": "s390x", "amd64": "x86_64"} {
		data, err := os.ReadFile("/proc/sys/fs/binfmt_misc/qemu-" + qemu)
		if arch == runtime.GOARCH || err != nil || !strings.HasPrefix(string(data), "enabled") {
			continue
		}
		if !runs("linux/" + arch) {
			t.Errorf("linux/%s has an enabled handler yet does not run", arch)
		}
	}
}
