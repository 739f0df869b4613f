package executor

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// unmountStale detaches mounts left under stateDir by an lkpkg that was killed (SIGKILL, OOM) in the middle of a
// RUN step: BuildKit mounts each container's root filesystem in the host's mount table and only a live process
// unmounts it. The caller holds the state lock, so no other lkpkg can be using them.
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
