package executor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/core/mount"
	"golang.org/x/sys/unix"
)

func TestUnmountStale(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts as root; skipped under -short")
	}
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

// TestTempMountsUnderStateDir: containerd's temporary layer mounts go below the state dir, and the ones a killed
// lkpkg left there are detached and their mount points removed at the next start.
func TestTempMountsUnderStateDir(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts as root; skipped under -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting needs root")
	}
	state := t.TempDir()
	if err := useStateDirForTempMounts(state); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := mount.SetTempMountLocation(os.TempDir()); err != nil {
			t.Error(err)
		}
	})
	resolved, _ := filepath.EvalSymlinks(state)
	err := mount.WithTempMount(context.Background(), []mount.Mount{{Type: "tmpfs", Source: "tmpfs"}}, func(root string) error {
		if !strings.HasPrefix(root, filepath.Join(resolved, tempMountsDir)+"/") {
			t.Errorf("temporary mount at %s, want it below %s", root, filepath.Join(resolved, tempMountsDir))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// What a kill in the middle of WithTempMount leaves: a mount point still mounted.
	left := filepath.Join(state, tempMountsDir, "containerd-mount123")
	if err := os.MkdirAll(left, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", left, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(left, "layer-file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unmountStale(state); err != nil {
		t.Fatal(err)
	}
	removeTempMountDirs(state)
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Errorf("%s is still there after the cleanup: %v", left, err)
	}
}
