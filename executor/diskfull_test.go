package executor

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"

	"github.com/moby/buildkit/client"
)

func TestIsNoSpace(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"ENOSPC", syscall.ENOSPC, true},
		{"EDQUOT", syscall.EDQUOT, true},
		{"wrapped ENOSPC", fmt.Errorf("write blob: %w", &fs.PathError{Op: "write", Path: "/c/x", Err: syscall.ENOSPC}), true},
		{"ENOSPC as text after gRPC", errors.New("rpc error: code = ResourceExhausted desc = write /s/x: no space left on device"), true},
		{"quota as text", errors.New("write /s/x: disk quota exceeded"), true},
		{"other errno", &fs.PathError{Op: "open", Path: "/s/x", Err: syscall.EACCES}, false},
		{"exit code", errors.New(`process "/bin/sh -c false" did not complete successfully: exit code: 1`), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsNoSpace(tc.err); got != tc.want {
				t.Errorf("IsNoSpace(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestMinFreeSpace(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy []client.PruneInfo
		want   int64
	}{
		{"no policy", nil, 0},
		{"no rule asks", []client.PruneInfo{{MaxUsedSpace: 10}, {KeepDuration: 1}}, 0},
		{"the largest", []client.PruneInfo{{MinFreeSpace: 5}, {MinFreeSpace: 20}, {MinFreeSpace: 7}}, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := minFreeSpace(tc.policy); got != tc.want {
				t.Errorf("minFreeSpace = %d, want %d", got, tc.want)
			}
		})
	}
}
