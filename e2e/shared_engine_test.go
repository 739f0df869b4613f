package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// Eight lkpkg processes started at once on one state dir: one holds the engine, the others build through it (or
// take it over when it exits); all finish and the cache holds all eight, each valid.
func TestSharedEngineConcurrentRuns(t *testing.T) {
	const n = 8
	e := newBuildEnv(t)
	e.state = t.TempDir()
	for i := range n {
		e.pkg(fmt.Sprintf("pkg/p%d", i), fmt.Sprintf("image: p%d\narches: [amd64]\n", i),
			fmt.Sprintf("FROM busybox:fixture\nRUN sleep 1 && echo %d > /n\n", i))
	}
	runAtOnce(t, n, func(i int) result { return e.build(nil, fmt.Sprintf("pkg/p%d", i)) })
	for i := range n {
		tag := e.tag(fmt.Sprintf("pkg/p%d", i))
		if got := e.file(tag, "amd64", "n"); got != fmt.Sprintf("%d\n", i) {
			t.Errorf("p%d: /n is %q", i, got)
		}
	}
	if _, err := os.Stat(filepath.Join(e.state, "engine.sock")); !os.IsNotExist(err) {
		t.Errorf("the engine's socket outlives its lkpkg: %v", err)
	}
}

// The socket another lkpkg builds through is its owner's only.
func TestSharedEngineSocketOwnerOnly(t *testing.T) {
	e := newBuildEnv(t)
	e.state = t.TempDir()
	e.pkg("pkg/slow", "image: slow\narches: [amd64]\n", "FROM busybox:fixture\nRUN echo step-\"started\" && sleep 2\n")
	cmd, _ := e.startBuildUntil("step-started", "pkg/slow")
	defer func() { _ = cmd.Wait() }() // the build's outcome is not what this test checks
	info, err := os.Stat(filepath.Join(e.state, "engine.sock"))
	if err != nil {
		t.Fatalf("no engine socket while building: %v", err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("engine socket mode %o, want 600", perm)
	}
}

var totalRe = regexp.MustCompile(`(?m)^Total:\s+(\S+)`)

// `pkg builder du` shows the build cache and `pkg builder prune --all` empties it: the state dir shrinks.
func TestBuilderDuPrune(t *testing.T) {
	e := newBuildEnv(t)
	e.state = t.TempDir()
	e.pkg("pkg/big", "image: big\narches: [amd64]\n", "FROM busybox:fixture\nRUN dd if=/dev/urandom of=/big bs=1M count=20\n")
	e.mustBuild(nil, "pkg/big")
	du := func() string {
		return mustLkpkg(t, e.repo.Dir, nil, "pkg", "builder", "du", "--state-dir", e.state)
	}
	before := du()
	m := totalRe.FindStringSubmatch(before)
	if m == nil || !strings.Contains(before, "in-process engine ("+e.state+")") {
		t.Fatalf("du output:\n%s", before)
	}
	if !strings.HasSuffix(m[1], "MB") {
		t.Errorf("du total %s after a build writing 20MB", m[1])
	}
	sizeBefore := dirSize(t, e.state)
	out := mustLkpkg(t, e.repo.Dir, nil, "pkg", "builder", "prune", "--all", "--state-dir", e.state)
	if !strings.Contains(out, "freed") {
		t.Errorf("prune output:\n%s", out)
	}
	after := du()
	if m := totalRe.FindStringSubmatch(after); m == nil || m[1] != "0B" {
		t.Errorf("du after prune --all:\n%s", after)
	}
	if sizeAfter := dirSize(t, e.state); sizeAfter >= sizeBefore-15<<20 {
		t.Errorf("state dir %d bytes before prune --all, %d after", sizeBefore, sizeAfter)
	}
	if r := lkpkg(t, e.repo.Dir, nil, "pkg", "builder", "prune", "--keep-storage", "lots", "--state-dir", e.state); r.code == 0 || !strings.Contains(r.stderr, "--keep-storage") {
		t.Errorf("a bad --keep-storage: exit %d %s", r.code, r.stderr)
	}
}

func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	out, err := exec.Command("du", "-sb", dir).Output()
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	if _, err := fmt.Sscan(string(out), &n); err != nil {
		t.Fatalf("du -sb %s: %v: %q", dir, err, out)
	}
	return n
}

// Rootless runs share an engine too: three lkpkg processes of one user, each in its own user namespace, on the
// user's default state dir; one serves the engine, the others build through its socket, and all three finish.
func TestRootlessSharedEngine(t *testing.T) {
	const n = 3
	u := newRootlessUser(t, true)
	for i := range n {
		u.pkg(fmt.Sprintf("pkg/r%d", i), fmt.Sprintf("image: r%d\narches: [%s]\n", i, runtime.GOARCH),
			fmt.Sprintf("FROM busybox:fixture\nRUN sleep 1 && echo %d > /n\n", i))
	}
	u.mustLkpkg("cache", "import", u.fixture)
	runAtOnce(t, n, func(i int) result { return u.lkpkg("pkg", "build", fmt.Sprintf("pkg/r%d", i)) })
	listing := u.mustLkpkg("cache", "ls").stdout
	for i := range n {
		if !strings.Contains(listing, fmt.Sprintf("/r%d:", i)) {
			t.Errorf("r%d is not in the user's cache:\n%s", i, listing)
		}
	}
}

// runAtOnce starts n lkpkg runs at once and fails unless all succeed and at least one built through another's
// engine (rather than waiting in line for the state dir).
func runAtOnce(t *testing.T, n int, run func(i int) result) {
	t.Helper()
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = run(i)
		}()
	}
	wg.Wait()
	shared := 0
	for i, r := range results {
		if r.code != 0 {
			t.Fatalf("run %d failed:\n%s", i, tail(r.stderr, 20))
		}
		if strings.Contains(r.stderr, "building with the engine of another lkpkg") {
			shared++
		}
	}
	if shared == 0 {
		t.Errorf("no run built through another's engine: they waited in line")
	}
}
