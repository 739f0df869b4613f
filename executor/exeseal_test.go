package executor

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCopiesExecutable(t *testing.T) {
	for _, tc := range []struct {
		exe, containers string
		want            bool
	}{
		{"/lkpkg", "/var/lib/lkpkg/runtime/containers", true},
		{"/home/u/lkpkg", "/home/u/.local/share/lkpkg/runtime/containers", true},
		{"/var/lib/lkpkg/lkpkg", "/var/lib/lkpkg/runtime/containers", true},
		{"/usr/local/bin/lkpkg", "/var/lib/lkpkg/runtime/containers", false},
		{"/home/u/bin/lkpkg", "/home/u/.local/share/lkpkg/runtime/containers", false},
		{"/home/u/lkpkg", "/home/user/state/runtime/containers", false},
		{"/var/lib/lkpkg/runtime/containers/lkpkg", "/var/lib/lkpkg/runtime", false},
	} {
		if got := copiesExecutable(tc.exe, tc.containers); got != tc.want {
			t.Errorf("copiesExecutable(%q, %q) = %v, want %v", tc.exe, tc.containers, got, tc.want)
		}
	}
}

// TestOverlayRefusesNestedLayers checks the kernel behaviour copiesExecutable predicts: libcontainer seals the
// executable with an overlay whose two lower layers are its directory and the container's state directory, which
// overlayfs refuses (ELOOP) when one is inside the other, and then copies the executable instead.
func TestOverlayRefusesNestedLayers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts an overlay")
	}
	top := t.TempDir()
	bin, state, nested := filepath.Join(top, "bin"), filepath.Join(top, "state"), filepath.Join(top, "bin", "state")
	for _, d := range []string{bin, state, nested} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := overlayOf(bin, state); err != nil {
		t.Fatalf("overlay of sibling directories: %v", err)
	}
	if err := overlayOf(bin, nested); !errors.Is(err, unix.ELOOP) {
		t.Fatalf("overlay of a directory and one inside it: %v, want ELOOP", err)
	}
	if !copiesExecutable(filepath.Join(bin, "lkpkg"), nested) || copiesExecutable(filepath.Join(bin, "lkpkg"), state) {
		t.Error("copiesExecutable disagrees with overlayfs")
	}
}

// overlayOf creates (without attaching it anywhere) the lower-only overlay libcontainer makes to seal its executable.
func overlayOf(lower1, lower2 string) error {
	fd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.FsconfigSetString(fd, "lowerdir", lower1+":"+lower2); err != nil {
		return err
	}
	return unix.FsconfigCreate(fd)
}
