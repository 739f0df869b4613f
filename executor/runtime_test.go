package executor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lkpkg/lkpkg/executor"
)

// TestBuildWithoutRuntimeOnPath builds with a PATH holding no runc or crun:
// lkpkg itself must be the runtime.
func TestBuildWithoutRuntimeOnPath(t *testing.T) {
	requireRoot(t)
	t.Setenv("PATH", t.TempDir())
	for _, name := range []string{"runc", "crun", "buildkit-runc"} {
		if p, err := exec.LookPath(name); err == nil {
			t.Fatalf("%s found on PATH at %s", name, p)
		}
	}
	e := newEngine(t, t.TempDir())
	req := fixtureRequest(t, buildContext(t, map[string]string{
		"Dockerfile": "FROM busybox:fixture\nRUN echo ok > /ok && test \"$(cat /ok)\" = ok\n",
	}))
	if _, err := solve(t, e, req); err != nil {
		t.Fatal(err)
	}
}

// TestFailingRunReportsExitCode checks the runtime passes the step's exit
// status back to BuildKit.
func TestFailingRunReportsExitCode(t *testing.T) {
	e := newEngine(t, t.TempDir())
	req := fixtureRequest(t, buildContext(t, map[string]string{
		"Dockerfile": "FROM busybox:fixture\nRUN exit 7\n",
	}))
	_, err := solve(t, e, req)
	if err == nil || !strings.Contains(err.Error(), "exit code: 7") {
		t.Fatalf("got %v, want a failure with exit code 7", err)
	}
}

// TestCancelKillsRunningStep cancels a build during a long RUN and checks
// the step's process is gone once Solve returns.
func TestCancelKillsRunningStep(t *testing.T) {
	e := newEngine(t, t.TempDir())
	marker := uniqueSleep()
	req := fixtureRequest(t, buildContext(t, map[string]string{
		"Dockerfile": "FROM busybox:fixture\nRUN sleep " + marker + "\n",
	}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := e.Solve(ctx, req); done <- err }()
	waitFor(t, 30*time.Second, func() bool { return len(processesWithArgs("sleep", marker)) > 0 })
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("cancelled build succeeded")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Solve did not return after cancel")
	}
	waitFor(t, 10*time.Second, func() bool { return len(processesWithArgs("sleep", marker)) == 0 })
}

// TestSecondEngineWaitsForLock checks a second engine on the same state dir
// says what it waits for and gives up with its context.
func TestSecondEngineWaitsForLock(t *testing.T) {
	dir := t.TempDir()
	newEngine(t, dir)
	var messages bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	e, err := executor.New(ctx, executor.Options{StateDir: dir, Messages: &messages, AllowNoSeccomp: true})
	if err == nil {
		e.Close()
		t.Fatal("second engine on a locked state dir started")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not wrap the context's deadline", err)
	}
	if want := "waiting for another lkpkg using " + dir; !strings.Contains(messages.String(), want) {
		t.Errorf("messages %q do not contain %q", messages.String(), want)
	}
}

// TestEngineReopensStateDir checks Close releases everything: a new engine
// on the same dir starts and reuses the cache.
func TestEngineReopensStateDir(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	contextDir := buildContext(t, map[string]string{"Dockerfile": "FROM busybox:fixture\nRUN echo cached > /c\n"})
	for i := range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		e, err := executor.New(ctx, executor.Options{StateDir: dir, AllowNoSeccomp: true})
		if err != nil {
			cancel()
			t.Fatalf("engine %d: %v", i, err)
		}
		var progress bytes.Buffer
		req := fixtureRequest(t, contextDir)
		req.ProgressOutput = &progress
		_, err = e.Solve(ctx, req)
		cancel()
		if cerr := e.Close(); cerr != nil {
			t.Errorf("close engine %d: %v", i, cerr)
		}
		if err != nil {
			t.Fatalf("engine %d: %v", i, err)
		}
		if i == 1 && !strings.Contains(progress.String(), "CACHED") {
			t.Errorf("second build did not reuse the cache:\n%s", progress.String())
		}
	}
}

// uniqueSleep returns a sleep duration unlikely to be used by any other
// process, so that tests can find their RUN step's process by its arguments.
func uniqueSleep() string { return strconv.Itoa(100000 + rand.IntN(800000)) }

func waitFor(t *testing.T, limit time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", limit)
		}
	}
}

// processesWithArgs lists pids whose command line is exactly args.
func processesWithArgs(args ...string) []string {
	want := strings.Join(args, "\x00") + "\x00"
	var pids []string
	entries, _ := os.ReadDir("/proc")
	for _, entry := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", entry.Name(), "cmdline"))
		if err == nil && string(cmdline) == want {
			pids = append(pids, entry.Name())
		}
	}
	return pids
}

// TestStartCleansUpMountsOfCrashedRun checks that mounts a killed lkpkg left
// in the state dir are gone once a new engine has started.
func TestStartCleansUpMountsOfCrashedRun(t *testing.T) {
	requireRoot(t)
	stateDir := t.TempDir()
	rootfs := filepath.Join(stateDir, "runc-overlayfs", "executor", "crashed", "rootfs")
	if err := os.MkdirAll(rootfs, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", rootfs, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(rootfs, syscall.MNT_DETACH) })
	newEngine(t, stateDir)
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mountinfo), rootfs) {
		t.Errorf("%s is still mounted", rootfs)
	}
}

// solveInChildEnv makes the test binary run one build, described in JSON,
// as a separate lkpkg process would; tests can then kill it.
const solveInChildEnv = "LKPKG_TEST_SOLVE_IN_CHILD"

type childSolve struct {
	StateDir string
	Request  executor.SolveRequest
}

func solveInChild(encoded string) int {
	var child childSolve
	if err := json.Unmarshal([]byte(encoded), &child); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	e, err := executor.New(ctx, executor.Options{StateDir: child.StateDir, AllowNoSeccomp: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer e.Close()
	if _, err := e.Solve(ctx, child.Request); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestKilledLkpkgLeavesNothingRunningAndUsableState kills a whole lkpkg
// process (SIGKILL, no clean-up possible) during a RUN step: its container
// must die with it, and the next engine on the state dir must build.
func TestKilledLkpkgLeavesNothingRunningAndUsableState(t *testing.T) {
	requireRoot(t)
	stateDir := t.TempDir()
	marker := uniqueSleep()
	req := fixtureRequest(t, buildContext(t, map[string]string{
		"Dockerfile": "FROM busybox:fixture\nRUN echo cached > /c\nRUN sleep " + marker + "\n",
	}))
	req.ProgressOutput = nil
	encoded, err := json.Marshal(childSolve{StateDir: stateDir, Request: req})
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), solveInChildEnv+"="+string(encoded))
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, func() bool { return len(processesWithArgs("sleep", marker)) > 0 })
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	waitFor(t, 10*time.Second, func() bool { return len(processesWithArgs("sleep", marker)) == 0 })

	e := newEngine(t, stateDir)
	req = fixtureRequest(t, req.ContextDir)
	var progress bytes.Buffer
	req.ProgressOutput = &progress
	// The same build with the long step made quick: the first step's cache
	// must have survived the kill.
	if err := os.WriteFile(filepath.Join(req.ContextDir, "Dockerfile"), []byte("FROM busybox:fixture\nRUN echo cached > /c\nRUN true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := solve(t, e, req); err != nil {
		t.Fatalf("build after a killed lkpkg: %v", err)
	}
	if !strings.Contains(progress.String(), "CACHED") {
		t.Errorf("build after a killed lkpkg did not reuse the cache of its finished step:\n%s", progress.String())
	}
}
