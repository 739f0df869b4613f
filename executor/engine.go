// Package executor is the only part of lkpkg that starts containers: it runs
// BuildKit (controller, OCI worker, Dockerfile frontend) inside the lkpkg
// process and turns a SolveRequest into an OCI image.
//
// RUN steps are executed by lkpkg itself acting as the OCI runtime (see
// RuntimeMain and package ociruntime), so no runc binary is needed.
//
// Build requirements: cgo (gcc), which libcontainer needs, and the
// "seccomp" build tag with libseccomp (Debian: libseccomp-dev, pkg-config)
// so that BuildKit's default seccomp profile is applied to RUN steps;
// without the tag New refuses unless Options.AllowNoSeccomp is set. The
// Makefile builds with -tags 'containers_image_openpgp seccomp exclude_graphdriver_btrfs'.
package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"

	"github.com/containerd/containerd/v2/defaults"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/control"
	"github.com/moby/buildkit/util/archutil"
	"github.com/moby/buildkit/util/grpcerrors"
	resolverconfig "github.com/moby/buildkit/util/resolver/config"
	"google.golang.org/grpc"
	"google.golang.org/grpc/test/bufconn"

	"github.com/lkpkg/lkpkg/executor/ociruntime"
	"github.com/lkpkg/lkpkg/rootless"

	// BuildKit's gRPC API needs its proto codec (a process-wide override).
	_ "github.com/moby/buildkit/util/grpcutil/encoding/proto"
)

// DefaultStateDir holds BuildKit's cache and snapshots when running as root.
const DefaultStateDir = "/var/lib/lkpkg"

// defaultStateDir is DefaultStateDir, or for a rootless build (lkpkg re-executed in the user's namespace)
// the user's own $XDG_DATA_HOME/lkpkg: nothing of a rootless build is written outside the user's home.
func defaultStateDir() (string, error) {
	if rootless.ForUser() {
		return rootless.StateDir()
	}
	return DefaultStateDir, nil
}

// ResolvedStateDir is the absolute state dir an engine of these options uses.
func (o Options) ResolvedStateDir() (string, error) {
	dir := o.StateDir
	if dir == "" {
		var err error
		if dir, err = defaultStateDir(); err != nil {
			return "", err
		}
	}
	return filepath.Abs(dir)
}

// Options configure an Engine.
type Options struct {
	// StateDir is where snapshots, the build cache and container state
	// live; one lkpkg process at a time uses it. Default DefaultStateDir
	// (rootless: $XDG_DATA_HOME/lkpkg).
	StateDir string
	// Messages receives notes for the user, such as waiting for another
	// lkpkg's lock. Default os.Stderr.
	Messages io.Writer
	// BuildKitLog receives BuildKit's own (warning and error) log; nil
	// discards it, which hides noise such as fsverity and OOM-event checks.
	BuildKitLog io.Writer
	// Debug receives the engine's decisions (where its state is), for -v 2;
	// nil discards them.
	Debug io.Writer
	// BuildKitDebug lowers BuildKitLog's level from warnings to debug lines.
	BuildKitDebug bool
	// Snapshotter is "overlayfs", "native" or "" to use overlayfs when the
	// state dir's filesystem supports it and native otherwise.
	Snapshotter string
	// Registries configures registry hosts by name, e.g. plain HTTP for
	// "127.0.0.1:5000" or mirrors for "docker.io"; others use HTTPS.
	Registries map[string]resolverconfig.RegistryConfig
	// GCPolicy bounds the build cache, which BuildKit prunes after builds
	// (see client.PruneInfo); nil means BuilderConfig's policy or else
	// buildkitd's default one, sized from the state dir's filesystem.
	GCPolicy []client.PruneInfo
	// Explain adds to the line describing a sandbox short of root's (in a user namespace) why it is so.
	Explain bool
	// BuilderConfig is a buildkitd.toml whose [worker.oci] gc settings and
	// max-parallelism apply to the engine.
	BuilderConfig string
	// config is what BuilderConfig says.
	config engineConfig
	// AllowNoSeccomp lets a binary built without the "seccomp" tag run RUN
	// steps without BuildKit's seccomp profile instead of refusing to.
	AllowNoSeccomp bool
}

// Engine is an in-process BuildKit with one OCI worker, reached over an
// in-memory gRPC connection with the stock BuildKit client.
type Engine struct {
	stateDir       string
	lock           *os.File
	worker         *workerSet
	controller     *control.Controller
	server         *grpc.Server
	client         *client.Client
	netGate        *networkGate
	shared         *sharedServer // other lkpkg processes' access to the engine
	restoreProcess func()
	// stop ends the engine's lifetime context, which BuildKit's background
	// work runs under; the ctx given to New only bounds starting up.
	stop context.CancelFunc
}

// New starts an engine on opts.StateDir, waiting (until ctx ends) for any
// other lkpkg using the same directory. Close it when done.
//
// New sets the process umask to 0 until Close, as BuildKit needs for correct
// file modes in COPY; files lkpkg writes meanwhile need explicit modes. It
// also quiets logrus for the whole process (see applyProcessSettings).
//
// Pass a ctx cancelled on SIGINT/SIGTERM (signal.NotifyContext) to New and
// Solve: cancelling a solve kills its RUN steps and unmounts their
// snapshots, which dying from the signal would not.
func New(ctx context.Context, opts Options) (_ *Engine, err error) {
	opts, err = opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	lock, err := lockStateDir(ctx, opts.StateDir, opts.Messages)
	if err != nil {
		return nil, err
	}
	return newLocked(ctx, opts, lock)
}

// newLocked starts an engine on opts.StateDir (defaulted), whose lock the caller holds.
func newLocked(ctx context.Context, opts Options, lock *os.File) (_ *Engine, err error) {
	fmt.Fprintf(opts.Debug, "Build engine state in %s\n", opts.StateDir)
	if opts.GCPolicy == nil {
		opts.GCPolicy = gcPolicy(opts.config.gc, opts.StateDir)
	}
	e := &Engine{stateDir: opts.StateDir, netGate: newNetworkGate(), lock: lock}
	lifetime, stop := context.WithCancel(context.WithoutCancel(ctx))
	e.stop = stop
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	e.restoreProcess = applyProcessSettings(opts.BuildKitLog, opts.BuildKitDebug)
	// BuildKit's first RUN asks which platforms run natively or under binfmt_misc, and the first ask execs a
	// probe binary per architecture (a dozen processes, several under QEMU), holding up that RUN; asked now, the
	// probes run while the engine starts, the frontend plans and the base images are unpacked.
	go archutil.SupportedPlatforms(false)
	if err := cleanUpAfterCrash(opts.StateDir); err != nil {
		return nil, err
	}
	if err := unmountStale(opts.StateDir); err != nil {
		return nil, err
	}
	removeTempMountDirs(opts.StateDir)
	if err := discardTornState(opts.StateDir, opts.Messages); err != nil {
		return nil, err
	}
	if err := discardDamagedState(opts.StateDir, opts.Messages); err != nil {
		return nil, err
	}
	// After discarding, which would remove the directory it creates.
	if err := useStateDirForTempMounts(opts.StateDir); err != nil {
		return nil, err
	}
	sb, err := detectSandbox()
	if err != nil {
		return nil, err
	}
	if e.worker, err = newWorkerSet(lifetime, opts, e.netGate, sb); err != nil {
		return nil, err
	}
	if line := sb.describe(e.worker.snapshotterName, e.worker.overlayRefused, opts.Explain); line != "" {
		fmt.Fprintln(opts.Messages, line)
	}
	if e.controller, err = newController(lifetime, opts.StateDir, e.worker); err != nil {
		return nil, err
	}
	e.worker.reclaimSpace(ctx, opts.StateDir, opts.GCPolicy, opts.Messages)
	if err = e.serve(lifetime); err != nil {
		return nil, err
	}
	if err = e.serveShared(opts.StateDir); err != nil {
		return nil, err
	}
	return e, nil
}

func (o Options) withDefaults() (Options, error) {
	if o.Messages == nil {
		o.Messages = os.Stderr
	}
	if o.Debug == nil {
		o.Debug = io.Discard
	}
	if os.Geteuid() != 0 {
		return o, errors.New("building needs root (mounts and namespaces): run lkpkg as root, or let `lkpkg pkg build` make a user namespace (see docs/rootless.md)")
	}
	dir, err := o.ResolvedStateDir()
	if err != nil {
		return o, err
	}
	o.StateDir = dir
	switch o.Snapshotter {
	case "", "overlayfs", "native":
	default:
		return o, fmt.Errorf("unknown snapshotter %q: use overlayfs or native", o.Snapshotter)
	}
	cfg, err := loadEngineConfig(o.BuilderConfig)
	if err != nil {
		return o, err
	}
	o.config = cfg
	if !ociruntime.Supported {
		return o, errors.New("this lkpkg was built without cgo and cannot run build containers; rebuild with CGO_ENABLED=1")
	}
	if !ociruntime.SeccompSupported {
		if !o.AllowNoSeccomp {
			return o, errors.New("this lkpkg was built without seccomp support, so RUN steps cannot get BuildKit's seccomp profile; rebuild with cgo and -tags seccomp (apt-get install libseccomp-dev pkg-config)")
		}
		// The runtime runs as a child process and inherits this.
		os.Setenv(ociruntime.AllowNoSeccompEnv, "1")
	}
	return o, nil
}

// serve exposes the controller on an in-memory listener with the gRPC error
// interceptors (they keep typed errors such as exit codes intact) and
// connects the stock client to it.
func (e *Engine) serve(ctx context.Context) error {
	e.server = grpc.NewServer(
		grpc.ChainUnaryInterceptor(grpcerrors.UnaryServerInterceptor),
		grpc.ChainStreamInterceptor(grpcerrors.StreamServerInterceptor),
		grpc.MaxRecvMsgSize(defaults.DefaultMaxRecvMsgSize),
		grpc.MaxSendMsgSize(defaults.DefaultMaxSendMsgSize),
	)
	e.controller.Register(e.server)
	listener := bufconn.Listen(4 << 20)
	// Serve returns when Close stops the server; a failure to serve shows up in the client calls.
	go func() { _ = e.server.Serve(listener) }()
	dial := func(ctx context.Context, _ string) (net.Conn, error) { return listener.DialContext(ctx) }
	c, err := client.New(ctx, "", client.WithContextDialer(dial))
	if err != nil {
		return fmt.Errorf("connect to embedded BuildKit: %w", err)
	}
	e.client = c
	return nil
}

// Close stops the engine: running builds are cancelled, databases closed,
// snapshotter state released, the umask restored and the lock dropped.
func (e *Engine) Close() error {
	var errs []error
	if e.shared != nil {
		e.shared.close()
	}
	e.stop()
	if e.client != nil {
		errs = append(errs, e.client.Close())
	}
	if e.server != nil {
		e.server.Stop()
	}
	if e.worker != nil {
		e.worker.forgetChecksums()
	}
	if e.controller != nil {
		errs = append(errs, e.controller.Close())
	} else if e.worker != nil {
		errs = append(errs, e.worker.controller.Close())
	}
	if e.worker != nil {
		errs = append(errs, e.worker.watchdog.close(), e.worker.closeSnapshotter(), e.worker.relaxed.sync())
	}
	if e.restoreProcess != nil {
		e.restoreProcess()
	}
	if e.lock != nil {
		errs = append(errs, e.lock.Close()) // closing drops the flock
	}
	return errors.Join(errs...)
}

// Client is the stock BuildKit client connected to the engine, for disk usage and pruning.
func (e *Engine) Client() *client.Client { return e.client }

// StateDir is the directory the engine keeps its state in.
func (e *Engine) StateDir() string { return e.stateDir }
