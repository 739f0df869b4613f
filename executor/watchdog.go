package executor

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lkpkg/lkpkg/executor/ociruntime"
)

// watchdogEnv, in the environment of a re-executed lkpkg, makes it the watchdog of the containers whose state is
// under its value (see runWatchdog); watchdogStateEnv names the state dir whose mounts it detaches.
const (
	watchdogEnv      = "_LKPKG_CONTAINER_WATCHDOG"
	watchdogStateEnv = "_LKPKG_CONTAINER_WATCHDOG_STATE"
)

// watchdog takes RUN steps' containers down when lkpkg dies without doing it itself (SIGKILL, a crash). lkpkg
// runs them in its own process, so no runtime process outlives it to do that job, and a parent-death signal
// cannot be set on a container's init from outside. The watchdog is a child process reading a pipe from lkpkg:
// a line "+<id> <cgroupsPath>" as each container starts, "-<id>" when it is gone, "." when lkpkg closes the
// engine itself. End
// of file without "." means lkpkg died: every container still listed is killed and removed with its cgroup, and
// the mounts left under the state dir (root filesystems, cache mounts, containerd's temporary mounts) are
// detached, so that nothing stays mounted until a later run. One watchdog serves a whole engine.
type watchdog struct {
	once     sync.Once
	err      error
	mu       sync.Mutex
	w        *os.File
	cmd      *exec.Cmd
	root     string // the containers' state
	stateDir string // the engine's state dir, whose mounts are the engine's alone
}

func (d *watchdog) start() error {
	d.once.Do(func() {
		r, w, err := os.Pipe()
		if err != nil {
			d.err = err
			return
		}
		defer r.Close()
		exe, err := os.Executable()
		if err != nil {
			d.err = err
			return
		}
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), watchdogEnv+"="+d.root, watchdogStateEnv+"="+d.stateDir)
		cmd.Stdin = r
		// Its own process group: a Ctrl-C to lkpkg must not end the watchdog before lkpkg has stopped.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			w.Close()
			d.err = fmt.Errorf("start the container watchdog: %w", err)
			return
		}
		d.w, d.cmd = w, cmd
	})
	return d.err
}

// watch lists container id, whose cgroup is cgroupsPath ("" for none), with the watchdog until the returned
// function is called.
func (d *watchdog) watch(id, cgroupsPath string) (func(), error) {
	if err := d.start(); err != nil {
		return nil, err
	}
	if err := d.send("+" + id + " " + cgroupsPath); err != nil {
		return nil, err
	}
	return func() { _ = d.send("-" + id) }, nil
}

func (d *watchdog) send(line string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.w == nil {
		return fmt.Errorf("the container watchdog is closed")
	}
	_, err := fmt.Fprintln(d.w, line)
	return err
}

// close ends the watchdog once lkpkg has removed its containers itself.
func (d *watchdog) close() error {
	_ = d.send(".")
	d.mu.Lock()
	w, cmd := d.w, d.cmd
	d.w = nil
	d.mu.Unlock()
	if w == nil {
		return nil
	}
	w.Close()
	return cmd.Wait()
}

// runWatchdog is the watchdog process: it follows the list on stdin and, at its end, removes every container
// still on it and, unless lkpkg said it closes the engine itself, detaches the mounts under stateDir. It ignores
// the signals a terminal sends, so that only the end of the list ends it.
func runWatchdog(root, stateDir string) int {
	signalIgnore()
	live := map[string]string{} // id → cgroupsPath
	closed := false
	lines := bufio.NewScanner(os.Stdin)
	for lines.Scan() {
		line := lines.Text()
		switch {
		case strings.HasPrefix(line, "+"):
			id, cgroupsPath, _ := strings.Cut(line[1:], " ")
			live[id] = cgroupsPath
		case strings.HasPrefix(line, "-"):
			delete(live, line[1:])
		case line == ".":
			closed = true
		}
	}
	status := 0
	for id, cgroupsPath := range live {
		if err := ociruntime.Remove(root, id); err != nil {
			fmt.Fprintf(os.Stderr, "lkpkg: removing container %s left by a killed lkpkg: %v\n", id, err)
			status = 1
		}
		// Remove finds the cgroup in the container's state, which lkpkg may have died before writing.
		if cgroupsPath == "" {
			continue
		}
		if err := ociruntime.RemoveCgroup(cgroupsPath); err != nil {
			fmt.Fprintf(os.Stderr, "lkpkg: removing cgroup %s left by a killed lkpkg: %v\n", cgroupsPath, err)
			status = 1
		}
	}
	if !closed && stateDir != "" {
		if err := unmountAfterDeath(stateDir); err != nil {
			fmt.Fprintf(os.Stderr, "lkpkg: %v\n", err)
			status = 1
		}
	}
	return status
}

// lockWaitAfterDeath is how long the watchdog tries for the state lock of an lkpkg that died: the kernel releases
// it as it closes the dead process's files, the pipe the watchdog reads among them.
const lockWaitAfterDeath = 5 * time.Second

// unmountAfterDeath detaches the mounts a dead lkpkg left under stateDir, as the next engine there would. It does
// so only under the state lock: should another lkpkg have taken the state dir already, those mounts are its own
// (it cleaned up the dead one's when it started).
func unmountAfterDeath(stateDir string) error {
	lock, err := os.OpenFile(filepath.Join(stateDir, lockFileName), os.O_RDWR, 0)
	if err != nil {
		return nil // no lock file: no engine ever ran there
	}
	defer lock.Close()
	for deadline := time.Now().Add(lockWaitAfterDeath); ; time.Sleep(20 * time.Millisecond) {
		err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) || time.Now().After(deadline) {
			return nil
		}
	}
	if err := unmountStale(stateDir); err != nil {
		return err
	}
	removeTempMountDirs(stateDir)
	return nil
}

func signalIgnore() {
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
}
