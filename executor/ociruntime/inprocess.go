//go:build cgo

package ociruntime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"syscall"

	"github.com/moby/sys/userns"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// RunOptions describe one container run in this process (Run).
type RunOptions struct {
	Root    string      // where libcontainer keeps container state (the same directory Main uses)
	ID      string      // the container's name there
	Spec    *specs.Spec // Root.Path absolute; no terminal
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	Started func() // called once the container's process runs
}

// Run creates the container the spec describes, runs its process to the end and removes the container,
// returning the process's exit status (128+signal when killed). Cancelling ctx kills the process. It does in
// this process what "runc run" does as a command, saving the two runtime processes (run, delete) a BuildKit
// RUN step otherwise starts; only libcontainer's own init re-executes this binary.
func Run(ctx context.Context, o RunOptions) (int, error) {
	if o.Spec == nil || o.Spec.Process == nil {
		return -1, errors.New("container spec has no process")
	}
	if o.Spec.Process.Terminal {
		return -1, errors.New("lkpkg's built-in runtime runs no container with a terminal")
	}
	if err := dropSeccompIfAllowed(o.Spec); err != nil {
		return -1, err
	}
	inUserNS := userns.RunningInUserNS()
	if inUserNS {
		addHostSys(o.Spec)
	}
	config, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{
		CgroupName: o.ID, Spec: o.Spec,
		RootlessEUID: os.Geteuid() != 0, RootlessCgroups: inUserNS,
	})
	if err != nil {
		return -1, fmt.Errorf("convert container spec: %w", err)
	}
	// The container's init dies with the OS thread that forked it (a parent-death signal follows the thread,
	// not the process), so a killed lkpkg leaves no RUN step behind: its PID namespace ends with its init. Go
	// ends threads of its own accord, so this goroutine keeps its thread until the container is gone.
	config.ParentDeathSignal = int(syscall.SIGKILL)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	process, err := newProcess(o.Spec.Process, true)
	if err != nil {
		return -1, err
	}
	process.Stdin, process.Stdout, process.Stderr = o.Stdin, o.Stdout, o.Stderr
	container, err := libcontainer.Create(o.Root, o.ID, config)
	if err != nil {
		return -1, fmt.Errorf("create container %s: %w", o.ID, err)
	}
	// The exit status is the result; a failed destroy leaves only the container's state directory behind.
	defer func() { _ = container.Destroy() }()
	if err := container.Run(process); err != nil {
		return -1, fmt.Errorf("start container process: %w", err)
	}
	if o.Started != nil {
		o.Started()
	}
	return wait(ctx, process)
}

// wait waits for process to exit, killing it when ctx ends first.
func wait(ctx context.Context, process *libcontainer.Process) (int, error) {
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			_ = process.Signal(syscall.SIGKILL)
		case <-done:
		}
	}()
	state, err := process.Wait()
	close(done)
	if state == nil {
		return -1, fmt.Errorf("wait for container process: %w", err)
	}
	ws, ok := state.Sys().(syscall.WaitStatus)
	if !ok {
		return state.ExitCode(), nil
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}
