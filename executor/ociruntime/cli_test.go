//go:build cgo

package ociruntime

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestMain makes the test binary the runtime when started as "runc", the
// way lkpkg's main does through executor.RuntimeMain.
func TestMain(m *testing.M) {
	if IsInit() {
		Init()
	}
	if filepath.Base(os.Args[0]) == "runc" {
		os.Exit(Main(os.Args[1:], filepath.Join(filepath.Dir(os.Args[0]), "containers")))
	}
	if command := os.Getenv(parentOfEnv); command != "" {
		var args []string
		if err := json.Unmarshal([]byte(command), &args); err != nil {
			panic(err)
		}
		os.Exit(actAsParent(args))
	}
	os.Exit(m.Run())
}

// parentOfEnv makes the test binary start the command it holds the way
// BuildKit starts the runtime, standing in for lkpkg.
const parentOfEnv = "LKPKG_TEST_PARENT_OF"

func actAsParent(command []string) int {
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		return 1
	}
	return 0
}

// runtimeCLI is the test binary linked as <dir>/runc, with its state in
// <dir>/containers.
type runtimeCLI struct {
	t    *testing.T
	path string
}

func newRuntimeCLI(t *testing.T) runtimeCLI {
	t.Helper()
	if testing.Short() {
		t.Skip("runs containers as root; skipped under -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("running containers needs root; run the tests as root")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "runc")
	if err := os.Symlink(exe, path); err != nil {
		t.Fatal(err)
	}
	return runtimeCLI{t: t, path: path}
}

// removeOnCleanup makes sure a failed test leaves no container running.
func (r runtimeCLI) removeOnCleanup(id string) {
	r.t.Cleanup(func() { _ = r.command("delete", "--force", id).Run() })
}

func (r runtimeCLI) command(args ...string) *exec.Cmd {
	return exec.Command(r.path, append([]string{"--log", filepath.Join(filepath.Dir(r.path), "log.json"), "--log-format", "json"}, args...)...)
}

func (r runtimeCLI) output(args ...string) string {
	r.t.Helper()
	out, err := r.command(args...).CombinedOutput()
	if err != nil {
		r.t.Fatalf("runc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (r runtimeCLI) state(id string) containerState {
	r.t.Helper()
	var st containerState
	if err := json.Unmarshal([]byte(r.output("state", id)), &st); err != nil {
		r.t.Fatal(err)
	}
	return st
}

// TestRuntimeCommandLine runs a container through the same commands, in
// the same form, as BuildKit's runc executor.
func TestRuntimeCommandLine(t *testing.T) {
	r := newRuntimeCLI(t)
	bundle := busyboxBundle(t, []string{"sleep", "600"})
	run := r.command("run", "--bundle", bundle, "--keep", "c1")
	r.removeOnCleanup("c1")
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- run.Wait() }()
	waitUntil(t, func() bool {
		out, err := r.command("state", "c1").Output()
		return err == nil && strings.Contains(string(out), `"running"`)
	})
	st := r.state("c1")
	if st.Bundle != bundle || st.Pid <= 0 || st.Rootfs != filepath.Join(bundle, "rootfs") {
		t.Errorf("state %+v, want bundle %s, a pid and its rootfs", st, bundle)
	}

	checkExec(t, r, "c1")

	r.output("kill", "c1", "KILL")
	select {
	case err := <-exited:
		var exitErr *exec.ExitError
		if !asExitError(err, &exitErr) || exitErr.ExitCode() != 137 {
			t.Errorf("run ended with %v, want exit status 137", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after kill")
	}
	if st := r.state("c1"); st.Status != "stopped" {
		t.Errorf("status after kill %q, want stopped", st.Status)
	}
	r.output("delete", "c1")
	if err := r.command("state", "c1").Run(); err == nil {
		t.Error("state of a deleted container succeeded")
	}
}

func checkExec(t *testing.T, r runtimeCLI, id string) {
	t.Helper()
	dir := t.TempDir()
	process := specs.Process{Args: []string{"sh", "-c", "echo from-exec; exit 5"}, Cwd: "/", Env: []string{"PATH=/bin"}}
	data, _ := json.Marshal(process)
	processFile, pidFile := filepath.Join(dir, "process.json"), filepath.Join(dir, "pid")
	if err := os.WriteFile(processFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := r.command("exec", "--process", processFile, "--pid-file", pidFile, id).Output()
	var exitErr *exec.ExitError
	if !asExitError(err, &exitErr) || exitErr.ExitCode() != 5 {
		t.Errorf("exec ended with %v, want exit status 5", err)
	}
	if string(out) != "from-exec\n" {
		t.Errorf("exec output %q", out)
	}
	pid, err := os.ReadFile(pidFile)
	if n, perr := strconv.Atoi(string(pid)); err != nil || perr != nil || n <= 0 {
		t.Errorf("pid file %q, %v: want a bare pid", pid, err)
	}
}

// TestParentDeathKillsContainer kills the process that started "run", as
// when lkpkg is killed: the runtime must take its container down with it.
func TestParentDeathKillsContainer(t *testing.T) {
	r := newRuntimeCLI(t)
	run := r.command("run", "--bundle", busyboxBundle(t, []string{"sleep", "600"}), "--keep", "orphan")
	r.removeOnCleanup("orphan")
	parent := exec.Command(os.Args[0])
	command, _ := json.Marshal(run.Args)
	parent.Env = append(os.Environ(), parentOfEnv+"="+string(command))
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool {
		out, err := r.command("state", "orphan").Output()
		return err == nil && strings.Contains(string(out), `"running"`)
	})
	if err := parent.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = parent.Wait()
	waitUntil(t, func() bool { return r.state("orphan").Status == "stopped" })
	r.output("delete", "orphan")
}

// TestRemoveAllKillsRunningContainers is what the engine does at start
// with containers an earlier, killed lkpkg left running.
func TestRemoveAllKillsRunningContainers(t *testing.T) {
	r := newRuntimeCLI(t)
	run := r.command("run", "--bundle", busyboxBundle(t, []string{"sleep", "600"}), "--keep", "left")
	r.removeOnCleanup("left")
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool {
		out, err := r.command("state", "left").Output()
		return err == nil && strings.Contains(string(out), `"running"`)
	})
	if err := run.Process.Kill(); err != nil { // the monitor dies, the container lives on
		t.Fatal(err)
	}
	_ = run.Wait()
	if err := RemoveAll(filepath.Join(filepath.Dir(r.path), "containers")); err != nil {
		t.Fatal(err)
	}
	if err := r.command("state", "left").Run(); err == nil {
		t.Error("container still exists after RemoveAll")
	}
}

func asExitError(err error, target **exec.ExitError) bool {
	return errors.As(err, target)
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

// busyboxBundle makes an OCI bundle from the fixture image for this host's
// architecture, running args.
func busyboxBundle(t *testing.T, args []string) string {
	t.Helper()
	bundle := t.TempDir()
	extractLayer(t, fixtureLayer(t), filepath.Join(bundle, "rootfs"))
	spec := specconv.Example()
	spec.Process.Terminal = false
	spec.Process.Args = args
	spec.Hostname = "lkpkg-test"
	data, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return bundle
}

func fixtureLayer(t *testing.T) string {
	t.Helper()
	layout := filepath.Join("..", "..", "examples", "busybox-oci")
	blob := func(d ocispecs.Descriptor) string {
		return filepath.Join(layout, "blobs", d.Digest.Algorithm().String(), d.Digest.Encoded())
	}
	var top, index ocispecs.Index
	mustReadJSON(t, filepath.Join(layout, "index.json"), &top)
	mustReadJSON(t, blob(top.Manifests[0]), &index)
	for _, d := range index.Manifests {
		if d.Platform != nil && d.Platform.Architecture == runtime.GOARCH {
			var manifest ocispecs.Manifest
			mustReadJSON(t, blob(d), &manifest)
			return blob(manifest.Layers[0])
		}
	}
	t.Fatalf("fixture has no %s image", runtime.GOARCH)
	return ""
}

func mustReadJSON(t *testing.T, path string, v any) {
	t.Helper()
	if err := readJSON(path, v); err != nil {
		t.Fatal(err)
	}
}

func extractLayer(t *testing.T, layer, dst string) {
	t.Helper()
	f, err := os.Open(layer)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := extractEntry(tr, hdr, filepath.Join(dst, filepath.Clean("/"+hdr.Name))); err != nil {
			t.Fatal(err)
		}
	}
}

func extractEntry(r io.Reader, hdr *tar.Header, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		return os.MkdirAll(path, os.FileMode(hdr.Mode).Perm())
	case tar.TypeSymlink:
		return os.Symlink(hdr.Linkname, path)
	case tar.TypeReg:
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(hdr.Mode).Perm())
		if err != nil {
			return err
		}
		_, err = io.Copy(f, r)
		return errors.Join(err, f.Close())
	}
	return nil
}
