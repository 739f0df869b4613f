package executor

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/lkpkg/lkpkg/executor/ociruntime"
)

// runtimeName is the name BuildKit's runc executor expects its runtime to
// have; lkpkg acts as that runtime when started through a symlink so named.
const runtimeName = ociruntime.CommandName

// RuntimeMain lets the lkpkg binary double as its own container runtime. It
// must be the first thing main() does:
//
//	if executor.RuntimeMain() { return }
//
// When the process is libcontainer's container init, or was started as the
// runtime (through the "runc" symlink the engine creates), it does that job
// and exits; otherwise it returns false at once.
func RuntimeMain() bool {
	if ociruntime.IsInit() {
		ociruntime.Init() // never returns
	}
	if os.Getenv(procProbeEnv) != "" {
		os.Exit(probeMounts())
	}
	if root := os.Getenv(watchdogEnv); root != "" {
		os.Exit(runWatchdog(root, os.Getenv(watchdogStateEnv)))
	}
	if filepath.Base(os.Args[0]) != runtimeName {
		return false
	}
	os.Exit(ociruntime.Main(os.Args[1:], containersDir(os.Args[0])))
	return true
}

// copiesExecutable reports whether libcontainer will copy lkpkg's whole executable (exe, its resolved path) for
// each RUN step rather than seal it with an overlay: the overlay stacks the executable's directory on the
// container's state directory under containers, and overlayfs refuses layers one inside the other. It happens
// when lkpkg runs from /, or from $HOME with the state dir under it (each copy ≈ 45 ms and the binary's size).
func copiesExecutable(exe, containers string) bool {
	if real, err := filepath.EvalSymlinks(containers); err == nil {
		containers = real
	}
	rel, err := filepath.Rel(filepath.Dir(exe), containers)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// noteExecutableCopies says, for -v 2, when each RUN step will copy the executable (copiesExecutable).
func noteExecutableCopies(w io.Writer, containers string) {
	exe, err := os.Executable()
	if err != nil || !copiesExecutable(exe, containers) {
		return
	}
	fmt.Fprintf(w, "RUN steps copy %s for each container: its directory holds the state dir %s, so the runtime "+
		"cannot seal it with an overlay (install lkpkg elsewhere, e.g. /usr/local/bin or ~/bin, to save the copies)\n",
		exe, containers)
}

// containersDir is where the containers of the runtime at runtimePath keep their state: next to it, private to
// its state dir. RUN steps run in-process keep theirs there too, so that one clean-up finds them all.
func containersDir(runtimePath string) string {
	return filepath.Join(filepath.Dir(runtimePath), "containers")
}

// installRuntime makes <stateDir>/runtime/runc a symlink to the running
// executable and returns its path, which is given to BuildKit as the runtime
// binary; container state then lives next to it, private to this state dir.
func installRuntime(stateDir string) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find lkpkg's own executable: %w", err)
	}
	dir := filepath.Join(stateDir, "runtime")
	if err := os.MkdirAll(filepath.Join(dir, "containers"), 0o700); err != nil {
		return "", fmt.Errorf("create runtime dir: %w", err)
	}
	link := filepath.Join(dir, runtimeName)
	if target, err := os.Readlink(link); err == nil && target == exe {
		return link, nil
	}
	tmp := link + ".new"
	_ = os.Remove(tmp)
	if err := os.Symlink(exe, tmp); err != nil {
		return "", fmt.Errorf("link runtime: %w", err)
	}
	if err := os.Rename(tmp, link); err != nil {
		return "", fmt.Errorf("link runtime: %w", err)
	}
	return link, nil
}

// cleanUpAfterCrash removes the containers a previous lkpkg killed mid-build left in stateDir (killing any still
// running); unmountStale then detaches their root filesystems. It runs under the state dir lock, so none of them
// can belong to a live build.
func cleanUpAfterCrash(stateDir string) error {
	if err := ociruntime.RemoveAll(filepath.Join(stateDir, "runtime", "containers")); err != nil {
		return fmt.Errorf("remove containers left by an earlier lkpkg: %w", err)
	}
	return nil
}
