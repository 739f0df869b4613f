package build

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"
)

func TestExplainDiskFull(t *testing.T) {
	places := []writePlace{
		{"the build state directory", "/state", "prune the state"},
		{"the linuxkit cache", "/cache", "remove images"},
	}
	runFailed := errors.New(`Dockerfile:2: failed to solve: process "/bin/sh -c dd" did not complete successfully: exit code: 1`)
	enospc := func(path string) error {
		return fmt.Errorf("failed to solve: %w", &fs.PathError{Op: "write", Path: path, Err: syscall.ENOSPC})
	}
	for _, tc := range []struct {
		name string
		err  error
		free map[string]int64 // free bytes by dir; missing: statfs fails
		want string           // the error's text; "" = the error unchanged
	}{
		{"nil", nil, nil, ""},
		{"not about space, disks roomy", runFailed, map[string]int64{"/state": 1 << 30, "/cache": 1 << 30}, ""},
		{"ENOSPC in the state dir", enospc("/state/runc-overlayfs/executor/hosts.tmp"),
			map[string]int64{"/state": 0, "/cache": 1 << 30},
			"the build state directory /state ran out of space (0B free): prune the state"},
		{"ENOSPC in the cache, as gRPC text", errors.New("rpc error: code = ResourceExhausted desc = write /cache/.tmp-blob-1: no space left on device"),
			map[string]int64{"/state": 0, "/cache": 4 << 20},
			"the linuxkit cache /cache ran out of space (4MiB free): remove images"},
		{"ENOSPC, free space unknown", enospc("/cache/blobs/sha256/x"), nil,
			"the linuxkit cache /cache ran out of space: remove images"},
		{"a RUN step filled the state dir", runFailed, map[string]int64{"/state": 4096, "/cache": 1 << 30},
			runFailed.Error() + "; the build state directory /state ran out of space (4KiB free): prune the state"},
		{"ENOSPC outside lkpkg's directories", enospc("/tmp/x"), map[string]int64{"/state": 1 << 30, "/cache": 1 << 30}, ""},
		{"a directory whose name prefixes another's", enospc("/state2/x"), map[string]int64{"/state": 1 << 30, "/cache": 1 << 30}, ""},
		{"cancelled", fmt.Errorf("solve: %w", context.Canceled), map[string]int64{"/state": 0}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			free := func(dir string) (int64, error) {
				n, ok := tc.free[dir]
				if !ok {
					return 0, errors.New("statfs failed")
				}
				return n, nil
			}
			got := explainDiskFull(tc.err, places, free)
			if tc.want == "" {
				var explained *DiskFullError
				if errors.As(got, &explained) || !errors.Is(got, tc.err) {
					t.Fatalf("got %v, want the error unchanged", got)
				}
				return
			}
			if got.Error() != tc.want {
				t.Fatalf("got  %q\nwant %q", got.Error(), tc.want)
			}
			if !errors.Is(got, tc.err) || strings.Contains(got.Error(), "\n") {
				t.Fatalf("%q must wrap the build's error on one line", got)
			}
			if again := explainDiskFull(fmt.Errorf("outer: %w", got), places, free); !strings.HasSuffix(again.Error(), tc.want) ||
				strings.Count(again.Error(), "ran out of space") != 1 {
				t.Fatalf("explained twice: %q", again)
			}
		})
	}
}
