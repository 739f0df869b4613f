package executor

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
)

// lockedBuffer is an io.WriteCloser safe for the runtime's output goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}
func (b *lockedBuffer) Close() error { return nil }
func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestContainerExecAndTerminal drives the runtime's exec and terminal paths,
// which Dockerfile builds never use but interactive gateway containers do:
// an init started with "run", then processes added with "exec", one of them
// on a terminal.
func TestContainerExecAndTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the engine as root; skipped under -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("building needs root (mounts, namespaces); run the tests as root")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e, err := New(ctx, Options{StateDir: t.TempDir(), AllowNoSeccomp: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	opt := fixtureSolveOpt(t)
	_, err = e.client.Build(ctx, opt, "lkpkg-test", func(ctx context.Context, c gwclient.Client) (*gwclient.Result, error) {
		res, err := c.Solve(ctx, gwclient.SolveRequest{Frontend: "dockerfile.v0", FrontendOpt: opt.FrontendAttrs})
		if err != nil {
			return nil, err
		}
		ref, err := res.SingleRef()
		if err != nil {
			return nil, err
		}
		ctr, err := c.NewContainer(ctx, gwclient.NewContainerRequest{
			Mounts:  []gwclient.Mount{{Dest: "/", MountType: pb.MountType_BIND, Ref: ref}},
			NetMode: pb.NetMode_NONE,
		})
		if err != nil {
			return nil, err
		}
		defer func() { _ = ctr.Release(context.WithoutCancel(ctx)) }() // clean-up; the execs are what is tested
		checkExecs(ctx, t, ctr)
		return gwclient.NewResult(), nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
}

// checkExecs runs the processes in an order that keeps the container alive:
// upstream, any exec exiting non-zero cancels the whole container.
func checkExecs(ctx context.Context, t *testing.T, ctr gwclient.Container) {
	initProc, err := ctr.Start(ctx, gwclient.StartRequest{Args: []string{"sleep", "60"}})
	if err != nil {
		t.Fatalf("start init: %v", err)
	}
	var ttyOut lockedBuffer
	proc, err := ctr.Start(ctx, gwclient.StartRequest{Args: []string{"tty"}, Tty: true, Stdout: &ttyOut})
	if err != nil {
		t.Fatalf("exec with terminal: %v", err)
	}
	if err := proc.Wait(); err != nil {
		t.Errorf("exec with terminal: %v", err)
	}
	if !strings.HasPrefix(ttyOut.String(), "/dev/pts/") {
		t.Errorf("tty printed %q, want a /dev/pts path", ttyOut.String())
	}
	var out lockedBuffer
	proc, err = ctr.Start(ctx, gwclient.StartRequest{Args: []string{"cat", "/built"}, Stdout: &out})
	if err != nil {
		t.Fatalf("exec: %v", err)
	}
	if err := proc.Wait(); err != nil {
		t.Errorf("exec: %v", err)
	}
	if out.String() != "built\n" {
		t.Errorf("exec output %q, want %q", out.String(), "built\n")
	}
	if err := initProc.Signal(ctx, 9); err != nil {
		t.Errorf("kill init: %v", err)
	}
	if err := initProc.Wait(); err == nil || !strings.Contains(err.Error(), "137") {
		t.Errorf("killed init ended with %v, want exit code 137", err)
	}
}

func fixtureSolveOpt(t *testing.T) client.SolveOpt {
	t.Helper()
	layout := filepath.Join("..", "examples", "busybox-oci")
	from, err := OCILayoutContext("fixtures", layout, "busybox:fixture")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM busybox:fixture\nRUN echo built > /built\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	req := SolveRequest{
		ContextDir: dir, NamedContexts: map[string]string{"busybox:fixture": from},
		OCIStores: map[string]string{"fixtures": layout},
	}
	opt, err := req.solveOpt(NetworkNone)
	if err != nil {
		t.Fatal(err)
	}
	return opt
}
