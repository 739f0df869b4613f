//go:build cgo

package ociruntime

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/utils"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// containerState is the JSON "runc state" prints; BuildKit reads status,
// bundle and rootfs from it.
type containerState struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

func stateCommand(g globals, args []string, out io.Writer) error {
	id, err := parseWithID(flag.NewFlagSet("state", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	container, err := libcontainer.Load(g.root, id)
	if err != nil {
		return fmt.Errorf("load container %s: %w", id, err)
	}
	st, err := container.State()
	if err != nil {
		return err
	}
	status, err := container.Status()
	if err != nil {
		return err
	}
	pid := st.InitProcessPid
	if status == libcontainer.Stopped {
		pid = 0
	}
	bundle, annotations := utils.Annotations(st.Config.Labels)
	return json.NewEncoder(out).Encode(containerState{
		OCIVersion: specs.Version, ID: id, Pid: pid, Status: status.String(),
		Bundle: bundle, Rootfs: st.Config.Rootfs, Created: st.Created,
		Annotations: annotations,
	})
}

// killCommand implements "kill [--all] ID [SIGNAL]" (default SIGTERM).
func killCommand(g globals, args []string) error {
	fs := flag.NewFlagSet("kill", flag.ContinueOnError)
	fs.Bool("all", false, "accepted for compatibility; the container's pid namespace ends with its init")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("kill: %w", err)
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		return errors.New("kill needs a container ID and optionally a signal")
	}
	sig := unix.SIGTERM
	if fs.NArg() == 2 {
		var err error
		if sig, err = parseSignal(fs.Arg(1)); err != nil {
			return err
		}
	}
	container, err := libcontainer.Load(g.root, fs.Arg(0))
	if err != nil {
		return fmt.Errorf("load container %s: %w", fs.Arg(0), err)
	}
	return container.Signal(sig)
}

func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

// deleteCommand implements "delete [--force] ID": remove the container's
// state and cgroup. Unlike runc it also kills a container still running
// without --force: BuildKit deletes a container only when done with it, and
// if this runtime's monitor was killed the container must not outlive it.
func deleteCommand(g globals, args []string) error {
	fs := flag.NewFlagSet("delete", flag.ContinueOnError)
	force := fs.Bool("force", false, "do not fail if the container does not exist")
	id, err := parseWithID(fs, args)
	if err != nil {
		return err
	}
	container, err := libcontainer.Load(g.root, id)
	if errors.Is(err, libcontainer.ErrNotExist) && *force {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load container %s: %w", id, err)
	}
	return killAndDestroy(container)
}

func killAndDestroy(container *libcontainer.Container) error {
	if status, err := container.Status(); err == nil && status != libcontainer.Stopped {
		_ = container.Signal(unix.SIGKILL)
		waitStopped(container, 10*time.Second)
	}
	// With its init gone, the container's other processes die with its PID namespace, but not at once (one under
	// QEMU takes a while); until the last has left, the cgroup cannot be removed and Destroy fails. Those still
	// there are killed, and Destroy tried again.
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if err = container.Destroy(); err == nil || time.Now().After(deadline) {
			return err
		}
		pids, _ := container.Processes()
		for _, pid := range pids {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
}

func waitStopped(container *libcontainer.Container, limit time.Duration) {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if status, err := container.Status(); err != nil || status == libcontainer.Stopped {
			return
		}
	}
}

// Remove kills and removes the container id whose state is under root, if there is one.
func Remove(root, id string) error {
	container, err := libcontainer.Load(root, id)
	if errors.Is(err, libcontainer.ErrNotExist) {
		return nil
	}
	if err != nil {
		return os.RemoveAll(filepath.Join(root, id))
	}
	return killAndDestroy(container)
}

// RemoveAll kills and removes every container whose state is under root.
func RemoveAll(root string) error {
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, entry := range entries {
		container, err := libcontainer.Load(root, entry.Name())
		if err != nil {
			// Not a usable container state: nothing can be running from it.
			errs = append(errs, os.RemoveAll(filepath.Join(root, entry.Name())))
			continue
		}
		errs = append(errs, killAndDestroy(container))
	}
	return errors.Join(errs...)
}

// RemoveCgroup removes the cgroup at path (a spec's cgroupsPath) in every hierarchy, killing what still runs in
// it. It is for a container lkpkg died creating: its cgroup exists, its state (which Remove needs to find the
// cgroup) not yet.
func RemoveCgroup(path string) error {
	m, err := manager.New(&cgroups.Cgroup{Path: path, Resources: &cgroups.Resources{}})
	if err != nil {
		return err
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		pids, _ := m.GetAllPids()
		for _, pid := range pids {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
		if err = m.Destroy(); err == nil || time.Now().After(deadline) {
			return err
		}
	}
}
