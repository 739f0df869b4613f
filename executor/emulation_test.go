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
	t.Cleanup(func() { binfmtDir = old })
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
	if err := CheckEmulation("linux/sparc64"); err == nil || !strings.Contains(err.Error(), "no known emulator") {
		t.Fatalf("unknown arch: %v", err)
	}
}
