package executor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/defaults"
	controlapi "github.com/moby/buildkit/api/services/control"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/entitlements"
	"github.com/moby/buildkit/util/grpcerrors"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// socketName is the unix socket in the state dir on which the lkpkg holding the state dir's lock serves its
// engine to other lkpkg processes using the same state dir.
const socketName = "engine.sock"

// ErrEngineGone marks a solve that failed because the engine it ran on (another lkpkg's, or a builder) went away.
var ErrEngineGone = errors.New("the engine went away")

// socketPath is where the engine of stateDir is served; "" when the path is too long for a unix socket.
func socketPath(stateDir string) string {
	p := filepath.Join(stateDir, socketName)
	if len(p) >= len(unix.RawSockaddrUnix{}.Path) {
		return ""
	}
	return p
}

// serveShared serves the engine on the state dir's socket (owner-only) for other lkpkg processes. Their solves
// hold the network gate as the engine's own do, so the worker enforces each one's policy.
func (e *Engine) serveShared(stateDir string) error {
	path := socketPath(stateDir)
	if path == "" {
		return nil // other lkpkg processes wait for the lock instead
	}
	_ = os.Remove(path) // a previous holder's; the lock is ours
	l, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("serve the engine on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return fmt.Errorf("serve the engine on %s: %w", path, err)
	}
	e.shared = &sharedServer{path: path, listener: l, gate: e.netGate, idle: make(chan struct{})}
	close(e.shared.idle)
	e.shared.server = grpc.NewServer(
		grpc.ChainUnaryInterceptor(e.shared.gateSolve, grpcerrors.UnaryServerInterceptor),
		grpc.ChainStreamInterceptor(grpcerrors.StreamServerInterceptor),
		grpc.MaxRecvMsgSize(defaults.DefaultMaxRecvMsgSize),
		grpc.MaxSendMsgSize(defaults.DefaultMaxSendMsgSize),
	)
	e.controller.Register(e.shared.server)
	// Serve returns when the server is stopped; a failure to serve shows up in the clients' calls.
	go func() { _ = e.shared.server.Serve(l) }()
	return nil
}

// sharedServer is the engine as other lkpkg processes reach it.
type sharedServer struct {
	path     string
	listener net.Listener
	server   *grpc.Server
	gate     *networkGate

	mu       sync.Mutex
	active   int           // solves of other processes in flight
	idle     chan struct{} // closed while active is 0
	draining bool
}

const solveMethod = "/moby.buildkit.v1.Control/Solve"

// gateSolve holds the network gate for the length of another process's solve, with the policy the request asks
// for: the host network only when it carries the network.host entitlement.
func (s *sharedServer) gateSolve(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if info.FullMethod != solveMethod {
		return handler(ctx, req)
	}
	mode := NetworkNone
	if r, ok := req.(*controlapi.SolveRequest); ok {
		for _, ent := range r.GetEntitlements() {
			if ent == string(entitlements.EntitlementNetworkHost) {
				mode = NetworkHost
			}
		}
	}
	if !s.begin() {
		return nil, status.Error(codes.Unavailable, "this lkpkg is exiting; its engine takes no more builds")
	}
	defer s.end()
	release, err := s.gate.acquire(ctx, mode)
	if err != nil {
		return nil, err
	}
	defer release()
	return handler(ctx, req)
}

func (s *sharedServer) begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return false
	}
	if s.active == 0 {
		s.idle = make(chan struct{})
	}
	s.active++
	return true
}

func (s *sharedServer) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active--
	if s.active == 0 {
		close(s.idle)
	}
}

// close takes no more connections or solves, lets the solves in flight finish, then stops serving.
func (s *sharedServer) close() {
	s.mu.Lock()
	s.draining = true
	idle := s.idle
	s.mu.Unlock()
	s.listener.Close()
	_ = os.Remove(s.path)
	<-idle
	s.server.Stop()
}

// Local is the engine of a state dir: this process's own when it holds the state dir's lock, else the one that
// the lkpkg holding it serves on the state dir's socket, reached like a remote builder. Builds never wait in line:
// when the serving lkpkg exits, Reconnect takes the engine over.
type Local struct {
	opts Options

	mu     sync.Mutex
	engine *Engine
	remote *Remote
}

// Open returns the state dir's engine: started here when the state dir is free, otherwise the other lkpkg's.
func Open(ctx context.Context, opts Options) (*Local, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	l := &Local{opts: opts}
	if err := l.connect(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *Local) connect(ctx context.Context) error {
	if err := os.MkdirAll(l.opts.StateDir, 0o700); err != nil {
		return fmt.Errorf("create state dir: %w", err)
	}
	announced := false
	for {
		lock, err := tryLockStateDir(l.opts.StateDir)
		if err != nil {
			return err
		}
		if lock != nil {
			e, err := newLocked(ctx, l.opts, lock)
			if err != nil {
				return err
			}
			l.engine = e
			return nil
		}
		if path := socketPath(l.opts.StateDir); path != "" {
			if _, err := os.Stat(path); err == nil {
				r, err := Dial(ctx, "unix://"+path, 10*time.Second)
				if err == nil {
					fmt.Fprintf(l.opts.Messages, "building with the engine of another lkpkg using %s\n", l.opts.StateDir)
					l.remote = r
					return nil
				}
			}
		}
		if !announced {
			fmt.Fprintf(l.opts.Messages, "waiting for another lkpkg using %s to start or stop its engine\n", l.opts.StateDir)
			announced = true
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up waiting for the engine of %s (another lkpkg holds it): %w", l.opts.StateDir, context.Cause(ctx))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Solve runs the build on the engine; when another lkpkg's engine went away during it, the error is ErrEngineGone
// and Reconnect gets the engine back for another try.
func (l *Local) Solve(ctx context.Context, req SolveRequest) (*SolveResult, error) {
	l.mu.Lock()
	engine, remote := l.engine, l.remote
	l.mu.Unlock()
	if engine != nil {
		return engine.Solve(ctx, req)
	}
	return remote.Solve(ctx, req)
}

// Reconnect drops a connection to another lkpkg's engine that went away and takes the engine over, or connects to
// whichever lkpkg did.
func (l *Local) Reconnect(ctx context.Context, gone *Remote) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.engine != nil || l.remote != gone {
		return nil // another solve of this process reconnected already
	}
	l.remote.Close()
	l.remote = nil
	return l.connect(ctx)
}

// Current is the connection to another lkpkg's engine solves go through, nil when this process holds the engine.
func (l *Local) Current() *Remote {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.remote
}

// Client is the BuildKit client of the engine, for disk usage and pruning.
func (l *Local) Client() *client.Client {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.engine != nil {
		return l.engine.Client()
	}
	return l.remote.Client()
}

// StateDir is the state dir of the engine.
func (l *Local) StateDir() string { return l.opts.StateDir }

// Close stops this process's engine (after the solves other processes run on it) or drops the connection.
func (l *Local) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.engine != nil {
		return l.engine.Close()
	}
	if l.remote != nil {
		return l.remote.Close()
	}
	return nil
}
