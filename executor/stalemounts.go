package executor

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/containerd/containerd/v2/core/mount"
	"golang.org/x/sys/unix"
)

// tempMountsDir is where containerd mounts layers for a moment (to diff or apply them) instead of $TMPDIR: a
// killed lkpkg's leftovers are then under the state dir, where unmountStale finds them, and never keep a
// filesystem mounted in /tmp.
const tempMountsDir = "tmpmounts"

// useStateDirForTempMounts points containerd's temporary mounts into stateDir. The location is process-wide, as
// is the one engine of an lkpkg process.
func useStateDirForTempMounts(stateDir string) error {
	if err := mount.SetTempMountLocation(filepath.Join(stateDir, tempMountsDir)); err != nil {
		return fmt.Errorf("temporary mount directory: %w", err)
	}
	return nil
}

// removeTempMountDirs removes the empty mount points a killed lkpkg left in the temporary mounts directory,
// once unmountStale has detached them. Only empty directories go: should a detach have failed, the files of
// what is still mounted there stay untouched.
func removeTempMountDirs(stateDir string) {
	dir := filepath.Join(stateDir, tempMountsDir)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		_ = os.Remove(filepath.Join(dir, e.Name()))
	}
}

// unmountStale detaches mounts left under stateDir by an lkpkg that was killed (SIGKILL, OOM) in the middle of a
// RUN step or of a layer diff: BuildKit mounts each container's root filesystem, and containerd each layer it
// diffs or applies, in the host's mount table, and only a live process unmounts them. The caller holds the state
// lock, so no other lkpkg can be using them.
func unmountStale(stateDir string) error {
	root, err := filepath.EvalSymlinks(stateDir)
	if err != nil {
		return err
	}
	mounts, err := mountPointsUnder(root)
	if err != nil {
		return err
	}
	// Deepest first, so nested mounts go before their parents.
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i]) > len(mounts[j]) })
	for _, m := range mounts {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
			return fmt.Errorf("unmounting stale %s left by a killed lkpkg: %w", m, err)
		}
	}
	return nil
}

// mountPointsUnder lists this mount namespace's mount points below dir (not dir itself).
func mountPointsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	return out, sc.Err()
}

// unescapeMountinfo decodes the octal escapes (\040 for space …) the kernel uses in mountinfo paths.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(byte(c))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
