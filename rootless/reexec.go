package rootless

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// stageEnv tells a re-executed lkpkg which step it is at: stageWait until its maps are written, stageRoot once
// it is root of its namespace.
const (
	stageEnv  = "_LKPKG_USERNS"
	stageWait = "wait"
	stageRoot = "root"
)

// goAheadFD is the child's end of the pipe on which the parent says "go" once the maps are written; it closes
// the pipe without a word when it could not write them (and reports why itself).
const goAheadFD = 3

// Needed reports whether commands that run containers must re-execute through Run: the caller is not root, or
// is root without CAP_SYS_ADMIN (root in a container with the runtime's default capabilities), which cannot
// mount RUN steps' file systems. Inside the namespace the process is root with every capability, so Run is
// never nested.
func Needed() bool { return os.Geteuid() != 0 || !system.capable(capSysAdmin) }

// Active reports whether this process is lkpkg re-executed by Run, as root of the user's namespace.
func Active() bool { return os.Getenv(stageEnv) == stageRoot && os.Geteuid() == 0 }

// Main does the child's part of Run and returns at once in any other process. Call it early in main(), before
// anything else is started (but after the container runtime's hook: the runtime sets its own parent-death signal).
func Main() {
	switch os.Getenv(stageEnv) {
	case stageWait:
		awaitMaps()
	case stageRoot:
		// The exec that made this process root dropped the parent-death signal; the build must not outlive
		// the lkpkg the user started (the runtime kills the containers of a dead lkpkg in turn).
		_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
	}
}

// awaitMaps waits for the parent's go-ahead, then executes lkpkg again: as uid 0 of the namespace now, the
// new program gets the namespace's capabilities.
func awaitMaps() {
	goAhead := os.NewFile(goAheadFD, "go-ahead")
	msg, _ := io.ReadAll(goAhead)
	goAhead.Close()
	if string(msg) != "go" {
		os.Exit(1) // the parent reports what failed
	}
	os.Setenv(stageEnv, stageRoot)
	err := unix.Exec("/proc/self/exe", os.Args, os.Environ())
	fmt.Fprintln(os.Stderr, "lkpkg: re-executing in the user namespace:", err)
	os.Exit(1)
}

// Run re-executes lkpkg, with the same arguments and environment, as root of a new user and mount namespace
// made of the caller and its subordinate ids, and returns its exit status (128+n when killed by signal n).
// Signals sent to this process are passed on. An error means the namespace could not be made; it says why
// and what to do.
//
// Root (in a container without CAP_SYS_ADMIN) gets the ids it has, mapped 1:1, when it holds CAP_SETUID and
// CAP_SETGID, else itself alone. A user gets its subordinate ids; without any (or without newuidmap), itself
// alone, and notes says what that costs and how to add ids.
func Run(notes io.Writer) (int, error) {
	owner := currentOwner()
	if err := system.usernsEnabled(); err != nil {
		return 0, err
	}
	if os.Geteuid() == 0 {
		p, err := system.containerPlan()
		if err != nil {
			return 0, err
		}
		return p.runMapped(owner)
	}
	p, err := system.prepare(owner, os.Getgid())
	if err != nil {
		fmt.Fprintf(notes, "lkpkg: building with a single id: %v\n", err)
		return singlePlan(owner.UID, os.Getgid()).runMapped(owner)
	}
	return p.run(owner)
}

func currentOwner() Owner {
	o := Owner{UID: os.Getuid()}
	if u, err := user.LookupId(strconv.Itoa(o.UID)); err == nil {
		o.Name = u.Username
	}
	return o
}

func (p *plan) run(owner Owner) (int, error) {
	goAheadR, goAheadW, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer goAheadW.Close()
	cmd := &exec.Cmd{
		Path:   "/proc/self/exe",
		Args:   os.Args,
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Env: append(append(os.Environ(), stageEnv+"="+stageWait, mappingEnv+"="+string(MappingSubordinate),
			callerEnv+"="+strconv.Itoa(owner.UID)), userEnv(owner)...),
		ExtraFiles: []*os.File{goAheadR},
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: unix.CLONE_NEWUSER | unix.CLONE_NEWNS,
			Pdeathsig:  unix.SIGKILL,
		},
	}
	signals := make(chan os.Signal, 16)
	signal.Notify(signals, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
	defer signal.Stop(signals)
	err = cmd.Start()
	goAheadR.Close()
	if err != nil {
		return 0, system.refused(err)
	}
	if err := p.writeMaps(cmd.Process.Pid); err != nil {
		goAheadW.Close()
		_ = cmd.Wait()
		return 0, err
	}
	if _, err := goAheadW.WriteString("go"); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return 0, fmt.Errorf("start the rootless build: %w", err)
	}
	goAheadW.Close()
	done := make(chan struct{})
	defer close(done)
	go forward(signals, cmd.Process, done)
	return exitStatus(cmd.Wait())
}

// writeMaps has the setuid helpers write the child's uid and gid maps.
func (p *plan) writeMaps(pid int) error {
	for _, m := range []struct {
		helper, file string
		args         []string
	}{{p.newuidmap, system.subuid, p.uidMap}, {p.newgidmap, system.subgid, p.gidMap}} {
		args := append([]string{strconv.Itoa(pid)}, m.args...)
		out, err := exec.Command(m.helper, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s %s: %w: %s (is %s setuid root, and are the ranges in %s free for this user?)%s",
				filepath.Base(m.helper), strings.Join(args, " "), err, strings.TrimSpace(string(out)),
				m.helper, m.file, system.apparmorHint())
		}
	}
	return nil
}

func forward(signals <-chan os.Signal, child *os.Process, done <-chan struct{}) {
	for {
		select {
		case sig := <-signals:
			_ = child.Signal(sig)
		case <-done:
			return
		}
	}
}

func exitStatus(err error) (int, error) {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 0, fmt.Errorf("wait for the rootless build: %w", err)
	}
	return 0, nil
}

// StateDir is where a rootless build keeps the engine's state: $XDG_DATA_HOME/lkpkg, by default
// ~/.local/share/lkpkg, inside the user's home like everything else it writes.
func StateDir() (string, error) {
	if dir := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(dir) {
		return filepath.Join(dir, "lkpkg"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the rootless state directory (~/.local/share/lkpkg): %w; pass --state-dir", err)
	}
	return filepath.Join(home, ".local", "share", "lkpkg"), nil
}
