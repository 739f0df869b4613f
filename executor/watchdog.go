package executor

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/lkpkg/lkpkg/executor/ociruntime"
)

// watchdogEnv, in the environment of a re-executed lkpkg, makes it the watchdog of the containers whose state is
// under its value (see runWatchdog).
const watchdogEnv = "_LKPKG_CONTAINER_WATCHDOG"

// watchdog takes RUN steps' containers down when lkpkg dies without doing it itself (SIGKILL, a crash). lkpkg
// runs them in its own process, so no runtime process outlives it to do that job, and a parent-death signal
// cannot be set on a container's init from outside. The watchdog is a child process reading a pipe from lkpkg:
// a line "+<id>" as each container starts, "-<id>" when it is gone. End of file means lkpkg has exited, and
// every container still listed is killed and removed. One watchdog serves a whole engine.
type watchdog struct {
	once sync.Once
	err  error
	mu   sync.Mutex
	w    *os.File
	cmd  *exec.Cmd
	root string
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
		cmd.Env = append(os.Environ(), watchdogEnv+"="+d.root)
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

// watch lists container id with the watchdog until the returned function is called.
func (d *watchdog) watch(id string) (func(), error) {
	if err := d.start(); err != nil {
		return nil, err
	}
	if err := d.send("+" + id); err != nil {
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
// still on it. It ignores the signals a terminal sends, so that only the end of the list ends it.
func runWatchdog(root string) int {
	signalIgnore()
	live := map[string]bool{}
	lines := bufio.NewScanner(os.Stdin)
	for lines.Scan() {
		line := lines.Text()
		switch {
		case strings.HasPrefix(line, "+"):
			live[line[1:]] = true
		case strings.HasPrefix(line, "-"):
			delete(live, line[1:])
		}
	}
	status := 0
	for id := range live {
		if err := ociruntime.Remove(root, id); err != nil {
			fmt.Fprintf(os.Stderr, "lkpkg: removing container %s left by a killed lkpkg: %v\n", id, err)
			status = 1
		}
	}
	return status
}

func signalIgnore() {
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
}
