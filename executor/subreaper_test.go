package executor

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	bkexecutor "github.com/moby/buildkit/executor"
	"golang.org/x/sys/unix"
)

// Under QEMU user emulation prctl(PR_SET_CHILD_SUBREAPER) fails with EINVAL. The executor is still made (the
// worker serves builds whose steps start no container), and a RUN step fails first thing, before it mounts or
// writes anything, with the message that says to use the host's own binary.
func TestRunStepWithoutSubreaper(t *testing.T) {
	root := t.TempDir()
	x, err := newContainerExecutor(root, t.TempDir(), false, sandbox{}, nil, nil, nil)
	if err != nil {
		t.Fatalf("the executor needs no subreaper to be made: %v", err)
	}
	x.subreaper = func() error { return subreaperRefused(unix.EINVAL) }
	_, err = x.Run(context.Background(), "", bkexecutor.Mount{}, nil,
		bkexecutor.ProcessInfo{Meta: bkexecutor.Meta{Args: []string{"/bin/true"}, Cwd: "/"}}, make(chan struct{}))
	if !errors.Is(err, unix.EINVAL) {
		t.Fatalf("RUN step error %v, want the prctl's EINVAL", err)
	}
	for _, want := range []string{"PR_SET_CHILD_SUBREAPER", "QEMU user emulation", "own architecture"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q: %v", want, err)
		}
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Errorf("a refused RUN step left %d entries in the executor's root", len(entries))
	}
}

func TestSubreaperRefused(t *testing.T) {
	if err := subreaperRefused(nil); err != nil {
		t.Errorf("no prctl error became %v", err)
	}
}
