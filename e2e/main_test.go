// Package e2e drives the real lkpkg binary, built once per test run, the way a user or a Makefile would.
package e2e

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// lkpkgBin is the binary under test: $LKPKG_BIN if set (CI passes the one `make` built), else built here.
var lkpkgBin string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("e2e: skipped under -short (it drives the built binary as root; run make test)")
		os.Exit(0)
	}
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

// sharedState is the engine state directory the build tests share, so BuildKit's cache carries across them.
var sharedState string

func run(m *testing.M) (int, error) {
	var err error
	if sharedState, err = os.MkdirTemp("", "lkpkg-e2e-state"); err != nil {
		return 0, err
	}
	defer os.RemoveAll(sharedState)
	if bin := os.Getenv("LKPKG_BIN"); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			return 0, err
		}
		lkpkgBin = abs
		return m.Run(), nil
	}
	dir, err := os.MkdirTemp("", "lkpkg-e2e-bin")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	lkpkgBin = filepath.Join(dir, "lkpkg")
	build := exec.Command("go", "build", "-mod=vendor", "-tags", "containers_image_openpgp seccomp exclude_graphdriver_btrfs urfave_cli_no_docs runc_nocriu grpcnotrace", "-o", lkpkgBin, "../cmd/lkpkg")
	if out, err := build.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("building lkpkg: %w\n%s", err, out)
	}
	return m.Run(), nil
}

// result is one finished lkpkg run.
type result struct {
	stdout, stderr string
	code           int
}

// lkpkg runs the binary in dir with extra environment entries.
func lkpkg(t testing.TB, dir string, env []string, args ...string) result {
	t.Helper()
	return lkpkgWrapped(t, nil, dir, env, args...)
}

// lkpkgWrapped runs the binary under the command wrap (such as `unshare --net --`), in dir with extra
// environment entries.
func lkpkgWrapped(t testing.TB, wrap []string, dir string, env []string, args ...string) result {
	t.Helper()
	argv := append(append(slices.Clone(wrap), lkpkgBin), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(testEnv(), env...)
	return runResult(t, cmd, fmt.Sprintf("lkpkg %v", args))
}

// runResult runs cmd (lkpkg, or something that runs it), capturing its output; it fails t when cmd cannot run or
// lkpkg crashed. what names the run in those failures.
func runResult(t testing.TB, cmd *exec.Cmd, what string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s: %v", what, err)
	}
	if strings.Contains(stderr.String(), "panic:") || strings.Contains(stderr.String(), "goroutine ") {
		t.Fatalf("%s panicked:\n%s", what, stderr.String())
	}
	return result{stdout.String(), stderr.String(), code}
}

// mustLkpkg runs lkpkg and fails the test unless it succeeds.
func mustLkpkg(t testing.TB, dir string, env []string, args ...string) string {
	t.Helper()
	r := lkpkg(t, dir, env, args...)
	if r.code != 0 {
		t.Fatalf("lkpkg %v: exit %d\n%s", args, r.code, r.stderr)
	}
	return r.stdout
}

// testEnv is the environment without variables that would change lkpkg's behaviour behind a test's back.
func testEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "LINUXKIT_") || strings.HasPrefix(kv, "GIT_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
}
