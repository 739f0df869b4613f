package executor

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestUnmountStale(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting needs root")
	}
	state := t.TempDir()
	target := filepath.Join(state, "runc-overlayfs", "executor", "x y", "rootfs")
	if err := os.MkdirAll(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", target, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unmountStale(state); err != nil {
		t.Fatal(err)
	}
	if left, _ := mountPointsUnder(state); len(left) != 0 {
		t.Fatalf("still mounted: %v", left)
	}
	if err := os.RemoveAll(state); err != nil {
		t.Fatalf("state dir not removable after cleanup: %v", err)
	}
}
