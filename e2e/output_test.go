package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestQuietAndExitCodes checks linuxkit's output contract: -q leaves `cache ls` only its exit status, and every
// error, usage errors included, exits 1.
func TestQuietAndExitCodes(t *testing.T) {
	e := newBuildEnv(t)
	r := lkpkg(t, e.repo.Dir, nil, "-q", "--cache", e.cache, "cache", "ls")
	if r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Fatalf("cache ls -q: exit %d, stdout %q, stderr %q; want 0 and nothing printed", r.code, r.stdout, r.stderr)
	}
	if out := mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "ls"); !strings.Contains(out, "busybox:fixture") {
		t.Fatalf("cache ls without -q does not list the fixture:\n%s", out)
	}
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-q", "--cache", notADir, "cache", "ls"}, // the one thing -q leaves: an unreadable cache fails
		{"--no-such-flag"},
		{"pkg", "build", "--no-such-flag", "x"},
		{"no-such-command"},
		{"pkg", "no-such-command"},
		{"pkg", "build"},
		{"pkg", "build", "--force", "--pull", "x"},
		{"cache", "export"},
		{"cache", "rm"},
		{"-v", "9", "cache", "ls"},
	} {
		r := lkpkg(t, e.repo.Dir, nil, args...)
		if r.code != 1 || !strings.Contains(r.stderr, "lkpkg:") {
			t.Errorf("lkpkg %v: exit %d, stderr %q; want exit 1 and an error", args, r.code, r.stderr)
		}
	}
}

// TestBuildLogLevels checks which lines each of -q, the default, -v 2 and -v 3 prints for one build.
func TestBuildLogLevels(t *testing.T) {
	e := newBuildEnv(t)
	e.pkg("pkg/levels", "image: levels\narches: [amd64]\n", "FROM busybox:fixture\nRUN echo levels > /levels\n")
	tag := e.tag("pkg/levels")
	for _, tc := range []struct {
		flags      []string
		want, deny []string
	}{
		{[]string{"-q"}, nil, []string{"Building", "Base image", "level=debug"}},
		{nil, []string{"Building"}, []string{"Base image", "level=debug"}},
		{[]string{"-v", "2"}, []string{"Building", "Base image busybox:fixture: from the cache entry", "rebuilt (--force)", "Build engine state in " + e.state},
			[]string{"level=debug"}},
		{[]string{"-v", "3"}, []string{"Building", "Base image busybox:fixture: from the cache entry", "level=debug"}, nil},
	} {
		r := e.mustBuild(nil, append(tc.flags, "--force", "pkg/levels")...)
		if "docker.io/"+strings.TrimSpace(r.stdout) != tag {
			t.Errorf("%v: stdout %q, want the tag %s", tc.flags, r.stdout, tag)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%v: no %q in\n%s", tc.flags, w, tail(r.stderr, 30))
			}
		}
		for _, d := range tc.deny {
			if strings.Contains(r.stderr, d) {
				t.Errorf("%v: %q printed:\n%s", tc.flags, d, tail(r.stderr, 30))
			}
		}
	}
}
