//go:build cgo

package ociruntime

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/moby/sys/userns"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"github.com/opencontainers/runc/libcontainer/system"
	"github.com/opencontainers/runc/libcontainer/utils"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// runCommand implements "run --bundle DIR [--no-pivot] [--keep] ID": create
// the container and run its init in the foreground, returning its status.
func runCommand(g globals, args []string) (int, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	bundle := fs.String("bundle", ".", "bundle directory holding config.json")
	keep := fs.Bool("keep", false, "keep the container's state after it exits (removed by delete)")
	noPivot := fs.Bool("no-pivot", false, "use chroot instead of pivot_root")
	noNewKeyring := fs.Bool("no-new-keyring", false, "keep the caller's session keyring")
	pidFile := fs.String("pid-file", "", "write the init's pid here")
	detach := fs.Bool("detach", false, "unsupported")
	id, err := parseWithID(fs, args)
	if err != nil {
		return 1, err
	}
	if *detach {
		return 1, errors.New("run --detach is not supported by lkpkg's built-in runtime")
	}
	spec, err := loadBundle(*bundle)
	if err != nil {
		return 1, err
	}
	inUserNS := userns.RunningInUserNS()
	if inUserNS {
		addHostSys(spec)
	}
	config, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{
		CgroupName: id, NoPivotRoot: *noPivot, NoNewKeyring: *noNewKeyring, Spec: spec,
		// A rootless build: cgroups are not ours to manage (BuildKit sets no limits then), as in runc's
		// rootless mode.
		RootlessEUID: os.Geteuid() != 0, RootlessCgroups: inUserNS,
	})
	if err != nil {
		return 1, fmt.Errorf("convert container spec: %w", err)
	}
	// BuildKit starts this runtime with a parent-death SIGKILL; pass it on to the container's init so that an
	// lkpkg killed with SIGKILL leaves no container running (its PID namespace dies with init).
	config.ParentDeathSignal = int(syscall.SIGKILL)
	container, err := libcontainer.Create(g.root, id, config)
	if err != nil {
		return 1, fmt.Errorf("create container %s: %w", id, err)
	}
	if !*keep {
		// The exit status is the result; a failed destroy leaves only the container's state directory behind.
		defer func() { _ = container.Destroy() }()
	}
	process, err := newProcess(spec.Process, true)
	if err != nil {
		return 1, err
	}
	return startAndWait(container, process, spec.Process.Terminal, *pidFile, true)
}

// execCommand implements "exec --process FILE [--pid-file FILE] ID": run an
// extra process in a running container, in the foreground.
func execCommand(g globals, args []string) (int, error) {
	fs := flag.NewFlagSet("exec", flag.ContinueOnError)
	processPath := fs.String("process", "", "JSON file with the OCI process to run")
	pidFile := fs.String("pid-file", "", "write the process's pid here")
	detach := fs.Bool("detach", false, "unsupported")
	id, err := parseWithID(fs, args)
	if err != nil {
		return 1, err
	}
	if *detach || *processPath == "" {
		return 1, errors.New("exec needs --process FILE and does not support --detach in lkpkg's built-in runtime")
	}
	container, err := libcontainer.Load(g.root, id)
	if err != nil {
		return 1, fmt.Errorf("load container %s: %w", id, err)
	}
	var p specs.Process
	if err := readJSON(*processPath, &p); err != nil {
		return 1, err
	}
	process, err := newProcess(&p, false)
	if err != nil {
		return 1, err
	}
	return startAndWait(container, process, p.Terminal, *pidFile, false)
}

func parseWithID(fs *flag.FlagSet, args []string) (string, error) {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return "", fmt.Errorf("%s: %w", fs.Name(), err)
	}
	if fs.NArg() != 1 {
		return "", fmt.Errorf("%s needs exactly one container ID, got %q", fs.Name(), fs.Args())
	}
	return fs.Arg(0), nil
}

// loadBundle enters the bundle directory (relative paths in the spec, and
// the "bundle" label libcontainer records, are resolved against it) and
// reads its config.json.
func loadBundle(dir string) (*specs.Spec, error) {
	if err := os.Chdir(dir); err != nil {
		return nil, fmt.Errorf("enter bundle: %w", err)
	}
	var spec specs.Spec
	if err := readJSON("config.json", &spec); err != nil {
		return nil, err
	}
	if spec.Process == nil {
		return nil, errors.New("bundle config.json has no process")
	}
	return &spec, dropSeccompIfAllowed(&spec)
}

// startAndWait starts process in container and stays in the foreground like
// runc: every signal received is forwarded to the process, exited children
// are reaped, and the process's status (128+signal if killed) is returned.
// Init processes make this runtime a subreaper so that orphans of the
// container are reaped here too.
func startAndWait(container *libcontainer.Container, process *libcontainer.Process, tty bool, pidFile string, init bool) (int, error) {
	signals := make(chan os.Signal, 128)
	signal.Notify(signals) // before starting: a fast exit must not be missed
	defer signal.Stop(signals)
	if init {
		if err := system.SetSubreaper(1); err != nil {
			return 1, fmt.Errorf("become subreaper: %w", err)
		}
	}
	stdio, err := attachIO(process, tty)
	if err != nil {
		return 1, err
	}
	defer stdio.close()
	if err := container.Run(process); err != nil {
		return 1, fmt.Errorf("start container process: %w", err)
	}
	pid, err := process.Pid()
	if err == nil {
		err = stdio.started()
	}
	if err == nil && pidFile != "" {
		err = writePidFile(pidFile, pid)
	}
	if err != nil {
		_ = process.Signal(unix.SIGKILL)
		_, _ = process.Wait()
		return 1, err
	}
	status := forwardUntilExit(process, pid, signals, stdio)
	stdio.drain()
	return status, nil
}

func forwardUntilExit(process *libcontainer.Process, pid int, signals <-chan os.Signal, stdio *processIO) int {
	for sig := range signals {
		if sig != unix.SIGCHLD && parentGone() {
			// lkpkg died (see parent.go): the process must not outlive it;
			// for an init, that ends the whole container.
			sig = unix.SIGKILL
		}
		switch sig {
		case unix.SIGCHLD:
			if status, exited := reapUntil(pid); exited {
				// Let libcontainer finish its own bookkeeping (pipes, cgroup);
				// its wait error is expected since the pid is already reaped.
				_, _ = process.Wait()
				return status
			}
		case unix.SIGWINCH:
			stdio.resize()
		case unix.SIGURG:
			// Sent by the Go runtime to preempt goroutines; not for the container.
		default:
			_ = process.Signal(sig)
		}
	}
	return 1
}

// reapUntil reaps every exited child and reports whether pid was one of them.
func reapUntil(pid int) (status int, exited bool) {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || got <= 0 {
			return status, exited
		}
		if got == pid {
			status, exited = utils.ExitStatus(ws), true
		}
	}
}

// writePidFile writes the pid without a newline (BuildKit parses it with
// Atoi) and atomically, so a reader never sees a partial file.
func writePidFile(path string, pid int) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(fmt.Sprint(pid)), 0o644); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	return os.Rename(tmp, path)
}
