package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/containerd/containerd/v2/core/mount"
	containerdoci "github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/continuity/fs"
	bkexecutor "github.com/moby/buildkit/executor"
	"github.com/moby/buildkit/executor/oci"
	resourcestypes "github.com/moby/buildkit/executor/resources/types"
	gatewayapi "github.com/moby/buildkit/frontend/gateway/pb"
	"github.com/moby/buildkit/identity"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/util/bklog"
	"github.com/moby/buildkit/util/network"
	rootlessspecconv "github.com/moby/buildkit/util/rootless/specconv"
	"github.com/moby/buildkit/util/stack"
	"github.com/moby/sys/user"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/lkpkg/lkpkg/executor/ociruntime"
)

// containerExecutor is the worker's executor: it runs each RUN step's container with libcontainer inside this
// process (ociruntime.Run), where BuildKit's runc executor would start a runtime binary twice per step (run,
// then delete). The container's setup is BuildKit's own: its spec generator (mounts, namespaces, the seccomp
// profile, capabilities), resolv.conf and hosts files, and network providers. Interactive gateway containers
// (named, with processes added later or a terminal; Dockerfile builds never make one) go to BuildKit's runc
// executor over lkpkg's built-in runtime command, which has exec and terminals.
type containerExecutor struct {
	root        string // per-step bundles, resolv.conf and hosts
	containers  string // libcontainer's state
	rootless    bool   // in a user namespace: the spec is made rootless (no cgroups, no new sysfs)
	sandbox     sandbox
	networks    map[pb.NetMode]network.Provider
	interactive bkexecutor.Executor
	watchdog    *watchdog
	subreaper   func() error // makes this process the subreaper of the containers' inits
}

// becomeSubreaper makes lkpkg the subreaper of RUN steps' containers, once per process: a container's init is
// forked by libcontainer's short-lived helper processes and must be reparented to lkpkg, as it is to runc, for
// lkpkg to wait for it. It is tried at the worker's set-up, but its error is returned only by a RUN step: QEMU
// user emulation refuses the prctl (EINVAL), and there lkpkg still shows tags, manages the cache, pushes and
// builds packages whose steps start no container.
var becomeSubreaper = sync.OnceValue(func() error {
	return subreaperRefused(unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
})

// subreaperRefused is the error of a RUN step on a system that refuses to make lkpkg a subreaper.
func subreaperRefused(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("RUN steps need lkpkg to be the subreaper of their containers, and this system refused it (prctl PR_SET_CHILD_SUBREAPER: %w); "+
		"QEMU user emulation cannot run containers: run the lkpkg binary of this machine's own architecture (it emulates foreign architectures per step)", err)
}

func newContainerExecutor(root, containers string, rootless bool, sb sandbox, networks map[pb.NetMode]network.Provider, interactive bkexecutor.Executor, dog *watchdog) (*containerExecutor, error) {
	for _, dir := range []string{root, containers} {
		if err := os.MkdirAll(dir, 0o711); err != nil {
			return nil, err
		}
	}
	_ = becomeSubreaper() // kept for the first RUN step
	return &containerExecutor{root: root, containers: containers, rootless: rootless, sandbox: sb, networks: networks,
		interactive: interactive, watchdog: dog, subreaper: becomeSubreaper}, nil
}

// Run runs one RUN step: it mounts the root file system, makes the container's spec as BuildKit's runc
// executor does, runs it and cleans up. A non-zero exit is a gateway ExitError, as BuildKit expects.
func (x *containerExecutor) Run(ctx context.Context, id string, root bkexecutor.Mount, mounts []bkexecutor.Mount, process bkexecutor.ProcessInfo, started chan<- struct{}) (_ resourcestypes.Recorder, err error) {
	if id != "" || process.Meta.Tty { // a RUN step's container has no name: BuildKit gives only those one
		return x.interactive.Run(ctx, id, root, mounts, process, started)
	}
	if err := x.subreaper(); err != nil {
		return nil, err
	}
	var startedOnce sync.Once
	signalStarted := func() {
		if started != nil {
			startedOnce.Do(func() { close(started) })
		}
	}
	defer signalStarted()
	id = identity.NewID()
	phases := newPhaseTimer()
	defer func() { bklog.G(ctx).Debugf("RUN container %s: %s", id, phases) }()
	meta := process.Meta
	namespace, err := x.network(ctx, meta)
	if err != nil {
		return nil, err
	}
	defer namespace.Close()
	phases.lap("network")
	resolvConf, hostsFile, cleanHosts, err := x.dnsFiles(ctx, meta)
	if err != nil {
		return nil, err
	}
	if cleanHosts != nil {
		defer cleanHosts()
	}
	rootFS, unmount, err := x.mountRoot(ctx, id, root)
	if err != nil {
		return nil, err
	}
	defer func() { unmount(); phases.lap("unmount") }()
	defer bkexecutor.MountStubsCleaner(context.WithoutCancel(ctx), rootFS, mounts, meta.RemoveMountStubsRecursive)()
	phases.lap("dns+mount")

	uid, gid, sgids, err := oci.GetUser(rootFS, meta.User)
	if err != nil {
		return nil, err
	}
	opts := []containerdoci.SpecOpts{oci.WithUIDGID(uid, gid, sgids)}
	if meta.ReadonlyRootFS {
		opts = append(opts, containerdoci.WithRootFSReadonly())
	}
	spec, cleanSpec, err := oci.GenerateSpec(ctx, meta, mounts, id, resolvConf, hostsFile, namespace, "", x.sandbox.processMode, nil, "", false, "", nil, opts...)
	if err != nil {
		return nil, err
	}
	defer cleanSpec()
	if err := x.sandbox.checkNetwork(spec); err != nil {
		return nil, err
	}
	if x.sandbox.singleID {
		dropOtherOwners(spec)
	}
	if x.sandbox.noHostname {
		spec.Hostname = "" // still a UTS namespace of its own, keeping the name it was created with
	}
	spec.Root.Path = rootFS
	spec.Root.Readonly = spec.Root.Readonly || root.Readonly
	cwd, err := fs.RootPath(rootFS, meta.Cwd)
	if err != nil {
		return nil, fmt.Errorf("working dir %s points to invalid target: %w", meta.Cwd, err)
	}
	if _, err := os.Stat(cwd); err != nil {
		if err := user.MkdirAllAndChown(cwd, 0o755, int(uid), int(gid)); err != nil {
			return nil, fmt.Errorf("create working directory %s: %w", meta.Cwd, err)
		}
	}
	if x.rootless {
		removed, err := rootlessspecconv.ToRootless(spec)
		if err != nil {
			return nil, err
		}
		// Mount points the rootless spec dropped are recreated once the container is gone, as BuildKit does:
		// made before, they would become directories the step could write to.
		defer func() {
			if err == nil {
				err = bkexecutor.CreateMountStubs(rootFS, removed, 0, 0)
			}
		}()
	}
	cgroupsPath := "" // rootless: cgroups are not lkpkg's to manage
	if spec.Linux != nil && !x.rootless {
		cgroupsPath = spec.Linux.CgroupsPath
	}
	unwatch, err := x.watchdog.watch(id, cgroupsPath)
	if err != nil {
		return nil, err
	}
	defer unwatch()
	phases.lap("spec")
	status, err := ociruntime.Run(ctx, ociruntime.RunOptions{Root: x.containers, ID: id, Spec: spec,
		Stdin: readerOrNil(process.Stdin), Stdout: writerOrDiscard(process.Stdout), Stderr: writerOrDiscard(process.Stderr),
		Started: func() { phases.lap("start"); signalStarted() }})
	phases.lap("process")
	if err != nil {
		return nil, err
	}
	return nil, exitError(ctx, status, meta.ValidExitCodes)
}

// network is the step's network namespace from the provider of its mode (none: loopback only; host).
func (x *containerExecutor) network(ctx context.Context, meta bkexecutor.Meta) (network.Namespace, error) {
	if meta.Proxy != nil {
		return nil, errors.New("BuildKit's proxied network is not available in lkpkg (build.yml's network: true or false)")
	}
	provider, ok := x.networks[meta.NetMode]
	if !ok {
		return nil, fmt.Errorf("unknown network mode %s", meta.NetMode)
	}
	return provider.New(ctx, meta.Hostname, network.NamespaceOptions{})
}

// dnsFiles are the resolv.conf and hosts files the step's spec binds, made by BuildKit's helpers.
func (x *containerExecutor) dnsFiles(ctx context.Context, meta bkexecutor.Meta) (resolvConf, hosts string, clean func(), err error) {
	root, err := os.OpenRoot(x.root)
	if err != nil {
		return "", "", nil, err
	}
	defer root.Close()
	resolvName, err := oci.GetResolvConf(ctx, root, nil, nil, meta.NetMode)
	if err != nil {
		return "", "", nil, err
	}
	hostsName, clean, err := oci.GetHostsFile(ctx, root, meta.ExtraHosts, nil, meta.Hostname)
	if err != nil {
		return "", "", nil, err
	}
	return filepath.Join(x.root, resolvName), filepath.Join(x.root, hostsName), clean, nil
}

// mountRoot mounts the step's root snapshot at <root>/<id>/rootfs; unmount undoes it all.
func (x *containerExecutor) mountRoot(ctx context.Context, id string, root bkexecutor.Mount) (string, func(), error) {
	mountable, err := root.Src.Mount(ctx, false)
	if err != nil {
		return "", nil, err
	}
	mounts, release, err := mountable.Mount()
	if err != nil {
		return "", nil, err
	}
	undo := func() {
		if release != nil {
			_ = release() // clean-up: the step's own result or error is what the caller reports
		}
	}
	bundle := filepath.Join(x.root, id)
	rootFS := filepath.Join(bundle, "rootfs")
	if err := os.MkdirAll(rootFS, 0o700); err != nil {
		undo()
		return "", nil, err
	}
	if err := mount.All(mounts, rootFS); err != nil {
		undo()
		os.RemoveAll(bundle)
		return "", nil, fmt.Errorf("mount the step's root file system: %w", err)
	}
	return rootFS, func() {
		_ = mount.Unmount(rootFS, 0) // clean-up after the step; its result is already decided
		undo()
		os.RemoveAll(bundle)
	}, nil
}

// exitError is nil for an accepted exit status, else the ExitError BuildKit reports ("did not complete
// successfully: exit code: N").
func exitError(ctx context.Context, status int, valid []int) error {
	if (valid == nil && status == 0) || slices.Contains(valid, status) {
		return nil
	}
	exitErr := &gatewayapi.ExitError{ExitCode: uint32(status)}
	if ctx.Err() != nil {
		exitErr.Err = fmt.Errorf("%s: %w", exitErr.Error(), context.Cause(ctx))
		return exitErr
	}
	return stack.Enable(exitErr)
}

// Exec adds a process to an interactive container.
func (x *containerExecutor) Exec(ctx context.Context, id string, process bkexecutor.ProcessInfo) error {
	return x.interactive.Exec(ctx, id, process)
}

func readerOrNil(r io.ReadCloser) io.Reader {
	if r == nil {
		return nil
	}
	return r
}

func writerOrDiscard(w io.WriteCloser) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// dropOtherOwners removes the uid= and gid= options naming ids other than root from a spec's mounts (devpts has
// gid=5): in a namespace mapping a single id they do not exist, and the kernel refuses the mount.
func dropOtherOwners(spec *specs.Spec) {
	for i, m := range spec.Mounts {
		kept := m.Options[:0:0]
		for _, o := range m.Options {
			if (strings.HasPrefix(o, "uid=") || strings.HasPrefix(o, "gid=")) && o[4:] != "0" {
				continue
			}
			kept = append(kept, o)
		}
		spec.Mounts[i].Options = kept
	}
}
