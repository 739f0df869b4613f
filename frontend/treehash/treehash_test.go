package treehash

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Package directories of baseRepo, "" being the top level. They include a
// nested package (pkg/a/sub/b inside pkg/a) and siblings sharing a prefix
// (pkg/a, pkg/ab, pkg/a-b, pkg/a.b).
var baseDirs = []string{"", "pkg", "pkg/a", "pkg/a/sub", "pkg/a/sub/b", "pkg/ab", "pkg/a-b", "pkg/a.b", "other"}

func baseRepo(t testing.TB) *gitRepo {
	g := newGitRepo(t)
	g.write("README", "top\n")
	g.write(".gitignore", "*.o\n/other/build/\n")
	g.write("pkg/a/Dockerfile", "FROM scratch\n")
	g.write("pkg/a/build.yml", "image: a\n")
	g.write("pkg/a/sub/b/build.yml", "image: b\n")
	g.write("pkg/a/sub/b/file", "b\n")
	g.write("pkg/ab/build.yml", "image: ab\n")
	g.write("pkg/ab/x", "x\n")
	g.write("pkg/a-b/build.yml", "image: a-b\n")
	g.write("pkg/a.b/build.yml", "image: a.b\n")
	g.write("other/build.yml", "image: other\n")
	g.commitAll("one")
	g.git("tag", "first")
	g.write("pkg/a/Dockerfile", "FROM scratch\nRUN true\n")
	g.write("pkg/ab/y", "y\n")
	g.commitAll("two")
	g.git("tag", "-a", "-m", "release", "v1.0")
	g.write("other/build.yml", "image: other2\n")
	g.commitAll("three")
	return g
}

// checkAgainstReference compares every answer for dirs with linuxkit's.
func checkAgainstReference(t *testing.T, g *gitRepo, rs *Repos, dirs []string, commit string) {
	t.Helper()
	for _, d := range dirs {
		pkg := g.path(d)
		r, err := rs.Open(pkg)
		if err != nil {
			t.Fatalf("Open(%q): %v", d, err)
		}
		want, werr := refTreeHash(t, pkg, commit)
		got, gerr := r.TreeHash(pkg, commit)
		if (werr != nil) != (gerr != nil) || got != want {
			t.Errorf("TreeHash(%q, %q) = %q, %v; linuxkit: %q, %v", d, commit, got, gerr, want, werr)
		}
		if commit != "HEAD" {
			continue
		}
		if _, err := os.Stat(pkg); err != nil {
			continue // gone from the work tree: linuxkit would not get this far
		}
		dirty, err := r.IsDirty(pkg)
		if err != nil {
			t.Errorf("IsDirty(%q): %v", d, err)
		} else if want := refIsDirty(t, pkg); dirty != want {
			t.Errorf("IsDirty(%q) = %v; linuxkit: %v", d, dirty, want)
		}
		ch, err := r.ContentHash(pkg)
		if err != nil {
			t.Errorf("ContentHash(%q): %v", d, err)
		} else if want := refContentHash(t, pkg); ch != want {
			t.Errorf("ContentHash(%q) = %s; linuxkit: %s", d, ch, want)
		}
	}
}

func dirtyDirs(t *testing.T, g *gitRepo, dirs []string) []string {
	t.Helper()
	rs := New()
	defer rs.Close()
	var out []string
	for _, d := range dirs {
		r, err := rs.Open(g.path(d))
		if err != nil {
			t.Fatal(err)
		}
		dirty, err := r.IsDirty(g.path(d))
		if err != nil {
			t.Fatal(err)
		}
		if dirty {
			out = append(out, d)
		}
	}
	return out
}

func TestMatchesLinuxkit(t *testing.T) {
	tests := []struct {
		name   string
		change func(g *gitRepo)
		dirty  []string // packages that must come out dirty
	}{
		{"clean", func(g *gitRepo) {}, nil},
		{"modified", func(g *gitRepo) { g.write("pkg/a/build.yml", "image: changed\n") },
			[]string{"", "pkg", "pkg/a"}},
		{"staged", func(g *gitRepo) {
			g.write("pkg/ab/x", "staged\n")
			g.git("add", "pkg/ab/x")
		}, []string{"", "pkg", "pkg/ab"}},
		{"staged then reverted in the work tree", func(g *gitRepo) {
			// index differs from HEAD, work tree equals HEAD: `git diff HEAD` is quiet
			g.write("pkg/ab/x", "staged\n")
			g.git("add", "pkg/ab/x")
			g.write("pkg/ab/x", "x\n")
		}, nil},
		{"deleted", func(g *gitRepo) { g.remove("pkg/a/sub/b/file") },
			[]string{"", "pkg", "pkg/a", "pkg/a/sub", "pkg/a/sub/b"}},
		{"deleted from the index", func(g *gitRepo) { g.git("rm", "-q", "--cached", "pkg/a.b/build.yml") },
			[]string{"", "pkg", "pkg/a.b"}},
		{"renamed", func(g *gitRepo) { g.git("mv", "pkg/ab/x", "pkg/a-b/x") },
			[]string{"", "pkg", "pkg/ab", "pkg/a-b"}},
		{"untracked", func(g *gitRepo) { g.write("pkg/ab/new", "new\n") },
			[]string{"", "pkg", "pkg/ab"}},
		{"untracked in a new directory", func(g *gitRepo) { g.write("pkg/a/sub/c/new", "new\n") },
			[]string{"", "pkg", "pkg/a", "pkg/a/sub"}},
		{"ignored only", func(g *gitRepo) {
			g.write("pkg/a/x.o", "obj\n")
			g.write("other/build/out", "out\n")
		}, nil},
		{"empty untracked directory", func(g *gitRepo) {
			if err := os.MkdirAll(g.path("pkg/ab/empty"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"touched, content unchanged", func(g *gitRepo) {
			future := time.Now().Add(time.Hour)
			if err := os.Chtimes(g.path("pkg/a/build.yml"), future, future); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"mode change", func(g *gitRepo) {
			if err := os.Chmod(g.path("pkg/a.b/build.yml"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, []string{"", "pkg", "pkg/a.b"}},
		{"file replaced by a symlink", func(g *gitRepo) {
			g.remove("pkg/ab/x")
			if err := os.Symlink("y", g.path("pkg/ab/x")); err != nil {
				t.Fatal(err)
			}
		}, []string{"", "pkg", "pkg/ab"}},
		{"untracked symlink and directory symlink", func(g *gitRepo) {
			if err := os.Symlink("../a", g.path("pkg/ab/link")); err != nil {
				t.Fatal(err)
			}
		}, []string{"", "pkg", "pkg/ab"}},
		{"intent to add", func(g *gitRepo) {
			g.write("pkg/a-b/new", "new\n")
			g.git("add", "-N", "pkg/a-b/new")
		}, []string{"", "pkg", "pkg/a-b"}},
		{"assume unchanged", func(g *gitRepo) {
			g.git("update-index", "--assume-unchanged", "pkg/ab/x")
			g.write("pkg/ab/x", "hidden change\n")
		}, nil},
		{"top level only", func(g *gitRepo) { g.write("README", "changed\n") }, []string{""}},
		{"merge conflict", func(g *gitRepo) {
			g.git("checkout", "-q", "-b", "side", "HEAD~1")
			g.write("pkg/ab/x", "side\n")
			g.commitAll("side")
			g.git("checkout", "-q", "main")
			g.write("pkg/ab/x", "main\n")
			g.commitAll("main")
			if _, err := gitIn(g.dir, "merge", "-q", "side"); err == nil {
				t.Fatal("merge unexpectedly succeeded")
			}
		}, []string{"", "pkg", "pkg/ab"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := baseRepo(t)
			tt.change(g)
			rs := New()
			defer rs.Close()
			checkAgainstReference(t, g, rs, baseDirs, "HEAD")
			if got := dirtyDirs(t, g, baseDirs); !slices.Equal(got, tt.dirty) {
				t.Errorf("dirty packages = %q, want %q", got, tt.dirty)
			}
		})
	}
}

func TestHashCommit(t *testing.T) {
	g := baseRepo(t)
	g.remove("pkg/a.b") // gone from the work tree, still in every commit
	g.commitAll("drop a.b")
	rs := New()
	defer rs.Close()
	head := strings.TrimSpace(g.git("rev-parse", "HEAD~1"))
	for _, commit := range []string{"HEAD", "HEAD~1", "HEAD~2", "first", "v1.0", head, head[:12]} {
		t.Run(commit, func(t *testing.T) {
			dirs := baseDirs
			if commit == "v1.0" {
				// linuxkit's `git show --format=%T -s <annotated tag>` prints
				// the tag message too; compare the top level separately.
				dirs = dirs[1:]
			}
			checkAgainstReference(t, g, rs, dirs, commit)
		})
	}
	// A fresh cache opened on a directory gone from the work tree.
	gone := New()
	defer gone.Close()
	rg, err := gone.Open(g.path("pkg/a.b/deeper"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rg.TreeHash(g.path("pkg/a.b"), "HEAD~1"); err != nil || len(got) != 40 {
		t.Errorf("TreeHash(gone dir, HEAD~1) = %q, %v", got, err)
	}
	r, err := rs.Open(g.dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.TreeHash(g.dir, "v1.0")
	want := strings.TrimSpace(g.git("rev-parse", "v1.0^{tree}"))
	if err != nil || got != want {
		t.Errorf("TreeHash(top, v1.0) = %q, %v; want %q", got, err, want)
	}
	// The dirty check is a HEAD-only question, but nothing stops asking it.
	if _, err := r.IsDirty(g.path("pkg/a")); err != nil {
		t.Error(err)
	}
}

func TestErrors(t *testing.T) {
	g := baseRepo(t)
	g.write("pkg/new/build.yml", "image: new\n")
	g.write("pkg/staged/build.yml", "image: staged\n")
	g.git("add", "pkg/staged")
	notGit := t.TempDir()

	rs := New()
	defer rs.Close()
	if _, err := rs.Open(notGit); !errors.Is(err, ErrNotInGit) {
		t.Errorf("Open(not in git) = %v, want ErrNotInGit", err)
	}
	// linuxkit fails inside .git rather than tagging "latest"
	if _, err := rs.Open(g.path(".git/refs")); err == nil || errors.Is(err, ErrNotInGit) {
		t.Errorf("Open(.git/refs) = %v, want an error other than ErrNotInGit", err)
	}
	r, err := rs.Open(g.dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dir, commit, want string
	}{
		{"pkg/new", "HEAD", "package " + g.path("pkg/new") + " is not in git (commit it first)"},
		{"pkg/staged", "HEAD", "package " + g.path("pkg/staged") + " is not in git (commit it first)"},
		{"pkg/a", "first", ""},
		{"pkg/ab/y", "first", "is not in git (commit it first)"},
		{"pkg/a", "nosuchbranch", `commit "nosuchbranch" does not exist`},
		{"", "nosuchbranch", `commit "nosuchbranch" does not exist`},
		{"pkg/a", "0123456789012345678901234567890123456789", "does not exist"},
		{"pkg/a", "HEAD\nHEAD", "invalid commit"},
		{"pkg/a", "--output=/tmp/x", "invalid commit"},
	}
	for _, tt := range tests {
		_, err := r.TreeHash(g.path(tt.dir), tt.commit)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("TreeHash(%q, %q): %v", tt.dir, tt.commit, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("TreeHash(%q, %q) error = %v, want %q", tt.dir, tt.commit, err, tt.want)
		}
	}
	if _, err := r.TreeHash(notGit, "HEAD"); err == nil || !strings.Contains(err.Error(), "is not inside the git work tree") {
		t.Errorf("TreeHash(other dir) error = %v", err)
	}
	if _, err := r.IsDirty(notGit); err == nil {
		t.Error("IsDirty(other dir) succeeded")
	}
}

func TestUnbornHead(t *testing.T) {
	g := newGitRepo(t)
	g.write("pkg/a/build.yml", "image: a\n")
	rs := New()
	defer rs.Close()
	r, err := rs.Open(g.path("pkg/a"))
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"Head":     func() error { _, err := r.Head(); return err },
		"TreeHash": func() error { _, err := r.TreeHash(g.path("pkg/a"), ""); return err },
		"Top":      func() error { _, err := r.TreeHash(g.dir, ""); return err },
		"IsDirty":  func() error { _, err := r.IsDirty(g.path("pkg/a")); return err },
	} {
		if err := call(); err == nil || !strings.Contains(err.Error(), "has no commit yet: commit the package first") {
			t.Errorf("%s on an unborn HEAD: %v", name, err)
		}
	}
}

func TestSHA256Repository(t *testing.T) {
	g := newGitRepo(t, "--object-format=sha256")
	g.write("pkg/a/build.yml", "image: a\n")
	g.commitAll("one")
	rs := New()
	defer rs.Close()
	dir := g.path("pkg/a")
	_, err := rs.Open(dir)
	want := dir + ": repository uses SHA-256 objects, which lkpkg does not support yet (linuxkit tags are SHA-1 tree ids)"
	if err == nil || err.Error() != want {
		t.Fatalf("Open(sha256 repo) = %v\nwant %s", err, want)
	}
	if !errors.Is(err, ErrUnsupportedObjectFormat) {
		t.Errorf("error %v is not ErrUnsupportedObjectFormat", err)
	}
}

func TestSymlinkedPaths(t *testing.T) {
	g := baseRepo(t)
	g.write("pkg/ab/new", "untracked\n")
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(g.dir, link); err != nil {
		t.Fatal(err)
	}
	rs := New()
	defer rs.Close()
	for _, d := range []string{"pkg/a", "pkg/ab", "pkg/a/sub/b"} {
		viaLink := filepath.Join(link, d)
		r, err := rs.Open(viaLink)
		if err != nil {
			t.Fatal(err)
		}
		if r.Toplevel() != g.dir {
			t.Errorf("Toplevel() = %q, want %q", r.Toplevel(), g.dir)
		}
		got, err := r.TreeHash(viaLink, "")
		want, werr := refTreeHash(t, viaLink, "HEAD")
		if err != nil || werr != nil || got != want {
			t.Errorf("TreeHash(%s) = %q, %v; linuxkit %q, %v", viaLink, got, err, want, werr)
		}
		dirty, err := r.IsDirty(viaLink)
		if err != nil || dirty != refIsDirty(t, viaLink) {
			t.Errorf("IsDirty(%s) = %v, %v", viaLink, dirty, err)
		}
		ch, err := r.ContentHash(viaLink)
		if err != nil || ch != refContentHash(t, viaLink) {
			t.Errorf("ContentHash(%s) = %v, %v", viaLink, ch, err)
		}
	}
	// The top level through a link: linuxkit compares the unresolved path
	// with git's resolved --show-toplevel and fails; we give the root tree.
	r, err := rs.Open(link)
	if err != nil {
		t.Fatal(err)
	}
	if !r.IsTop(link) {
		t.Errorf("IsTop(%s) = false", link)
	}
	got, err := r.TreeHash(link, "HEAD")
	if want := strings.TrimSpace(g.git("rev-parse", "HEAD^{tree}")); err != nil || got != want {
		t.Errorf("TreeHash(link to top) = %q, %v; want %q", got, err, want)
	}
	// Relative paths work too.
	t.Chdir(filepath.Join(link, "pkg"))
	got, err = r.TreeHash("a", "")
	if want, _ := refTreeHash(t, g.path("pkg/a"), "HEAD"); err != nil || got != want {
		t.Errorf("TreeHash(relative a) = %q, %v; want %q", got, err, want)
	}
}

func TestLinkedWorktree(t *testing.T) {
	g := baseRepo(t)
	wt := filepath.Join(t.TempDir(), "wt")
	g.git("worktree", "add", "-q", "-b", "wt", wt, "HEAD~1")
	w := &gitRepo{t: t, dir: wt}
	w.write("pkg/ab/new", "untracked\n")
	w.write("pkg/a/build.yml", "changed\n")
	rs := New()
	defer rs.Close()
	checkAgainstReference(t, w, rs, baseDirs, "HEAD")
	checkAgainstReference(t, g, rs, baseDirs, "HEAD")
	rw, _ := rs.Open(wt)
	rm, _ := rs.Open(g.dir)
	if rw == rm || rw.Toplevel() != wt {
		t.Errorf("worktree repo %q shares state with %q", rw.Toplevel(), rm.Toplevel())
	}
	if got := dirtyDirs(t, w, baseDirs); !slices.Equal(got, []string{"", "pkg", "pkg/a", "pkg/ab"}) {
		t.Errorf("dirty in worktree: %q", got)
	}
}

func TestNestedRepository(t *testing.T) {
	g := baseRepo(t)
	inner := &gitRepo{t: t, dir: g.path("vendor/inner")}
	if err := os.MkdirAll(inner.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	inner.git("init", "-q")
	inner.write("pkg/build.yml", "image: inner\n")
	inner.commitAll("inner")
	rs := New()
	defer rs.Close()
	outer, err := rs.Open(g.dir)
	if err != nil {
		t.Fatal(err)
	}
	ri, err := rs.Open(inner.path("pkg"))
	if err != nil {
		t.Fatal(err)
	}
	if ri == outer || ri.Toplevel() != inner.dir {
		t.Fatalf("inner package opened as %s", ri.Toplevel())
	}
	checkAgainstReference(t, inner, rs, []string{"", "pkg"}, "HEAD")
	// The untracked nested repository makes the outer top level dirty.
	checkAgainstReference(t, g, rs, []string{""}, "HEAD")
	if _, err := outer.TreeHash(inner.path("pkg"), ""); err == nil || !strings.Contains(err.Error(), "belongs to the git repository at") {
		t.Errorf("outer.TreeHash(inner package) error = %v", err)
	}
}

func TestSpecialFileNames(t *testing.T) {
	names := []string{
		" lead", "a b", "tab\there", "new\nline", `quo"te`, `back\slash`, "ünïcødé", "trail ", "cr\r",
		"\u00a0nbsp", "bell\a", "del\x7f", "*star", "[x]", ":colon",
	}
	for _, quotePath := range []string{"", "false"} {
		t.Run("quotePath="+quotePath, func(t *testing.T) {
			g := baseRepo(t)
			if quotePath != "" {
				g.git("config", "core.quotePath", quotePath)
			}
			// tracked files in pkg/s (the first one starts with a space,
			// which linuxkit trims away), untracked ones in pkg/u and pkg/ab,
			// and a package directory whose own name needs quoting.
			for i, n := range names {
				g.write("pkg/s/"+n, fmt.Sprintf("tracked %d\n", i))
				g.write("pkg/dir é\n/"+n, fmt.Sprintf("tracked %d\n", i))
			}
			g.commitAll("names")
			for i, n := range names {
				g.write("pkg/u/"+n, fmt.Sprintf("untracked %d\n", i))
				g.write("pkg/ab/"+n, fmt.Sprintf("untracked %d\n", i))
			}
			g.write("pkg/s/tab\there", "changed\n")
			rs := New()
			defer rs.Close()
			checkAgainstReference(t, g, rs, []string{"", "pkg", "pkg/s", "pkg/u", "pkg/ab", "pkg/a", "pkg/dir é\n"}, "HEAD")
		})
	}
}

func TestQuoteCMatchesGit(t *testing.T) {
	g := newGitRepo(t)
	var names []string
	for c := 1; c < 256; c++ {
		if c == '/' {
			continue
		}
		names = append(names, fmt.Sprintf("n%c%c", c, c))
	}
	names = append(names, "plain", "ü", "a b")
	for _, n := range names {
		g.write(n, "x")
	}
	g.git("add", "-A")
	for _, full := range []bool{true, false} {
		out := g.git("-c", fmt.Sprintf("core.quotePath=%v", full), "ls-files")
		raw := splitZ([]byte(g.git("ls-files", "-z")))
		var b strings.Builder
		for _, n := range raw {
			b.WriteString(quoteC(n, full) + "\n")
		}
		if b.String() != out {
			t.Errorf("quotePath=%v: quoteC differs from git ls-files", full)
		}
	}
}

// TestCatFileReused checks that 40 packages cost one rev-parse and one
// cat-file process, and that the answers stay right all along.
func TestCatFileReused(t *testing.T) {
	g := newGitRepo(t)
	var dirs []string
	for i := range 40 {
		d := fmt.Sprintf("pkg/p%02d", i)
		g.write(d+"/build.yml", fmt.Sprintf("image: p%d\n", i))
		dirs = append(dirs, d)
	}
	g.commitAll("forty")
	rs := New()
	defer rs.Close()
	for _, d := range dirs {
		r, err := rs.Open(g.path(d))
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.TreeHash(g.path(d), "")
		want, _ := refTreeHash(t, g.path(d), "HEAD")
		if err != nil || got != want {
			t.Fatalf("TreeHash(%s) = %q, %v; want %q", d, got, err, want)
		}
	}
	if n := rs.procs.Load(); n != 2 {
		t.Errorf("40 tree hashes started %d git processes, want 2", n)
	}
	for _, d := range dirs {
		r, _ := rs.Open(g.path(d))
		if dirty, err := r.IsDirty(g.path(d)); err != nil || dirty {
			t.Fatalf("IsDirty(%s) = %v, %v", d, dirty, err)
		}
	}
	if n := rs.procs.Load(); n != 4 {
		t.Errorf("40 tree hashes and dirty checks started %d git processes, want 4", n)
	}
	if err := rs.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := rs.Open(g.dir); err == nil {
		t.Error("Open after Close succeeded")
	}
}

func TestConcurrentUse(t *testing.T) {
	g := baseRepo(t)
	g.write("pkg/ab/new", "untracked\n")
	rs := New()
	defer rs.Close()
	want := map[string]string{}
	for _, d := range baseDirs {
		h, _ := refTreeHash(t, g.path(d), "HEAD")
		want[d] = h + fmt.Sprint(refIsDirty(t, g.path(d))) + refContentHash(t, g.path(d))
	}
	var wg sync.WaitGroup
	for range 8 {
		for _, d := range baseDirs {
			wg.Go(func() {
				p := g.path(d)
				r, err := rs.Open(p)
				if err != nil {
					t.Error(err)
					return
				}
				h, err1 := r.TreeHash(p, "")
				dirty, err2 := r.IsDirty(p)
				ch, err3 := r.ContentHash(p)
				if err := errors.Join(err1, err2, err3); err != nil {
					t.Error(err)
				}
				if got := h + fmt.Sprint(dirty) + ch; got != want[d] {
					t.Errorf("%s: got %s, want %s", d, got, want[d])
				}
			})
		}
	}
	wg.Wait()
	if n := rs.procs.Load(); n != 5 {
		t.Errorf("concurrent use started %d git processes, want 5", n)
	}
}

func TestCatFileRestarts(t *testing.T) {
	g := baseRepo(t)
	rs := New()
	defer rs.Close()
	r, err := rs.Open(g.dir)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := refTreeHash(t, g.path("pkg/a"), "HEAD")
	if got, err := r.TreeHash(g.path("pkg/a"), ""); err != nil || got != want {
		t.Fatalf("TreeHash = %q, %v", got, err)
	}
	r.cat.mu.Lock()
	_ = r.cat.cmd.Process.Kill()
	r.cat.mu.Unlock()
	if _, err := r.TreeHash(g.path("pkg/a"), ""); err == nil {
		t.Error("TreeHash through a killed cat-file succeeded")
	}
	if got, err := r.TreeHash(g.path("pkg/a"), ""); err != nil || got != want {
		t.Errorf("TreeHash after restart = %q, %v", got, err)
	}
}

func TestHeadAndLastChange(t *testing.T) {
	g := baseRepo(t)
	rs := New()
	defer rs.Close()
	r, err := rs.Open(g.dir)
	if err != nil {
		t.Fatal(err)
	}
	head, err := r.Head()
	if want := strings.TrimSpace(g.git("rev-parse", "HEAD")); err != nil || head != want {
		t.Errorf("Head() = %q, %v; want %q", head, err, want)
	}
	for _, tt := range []struct{ dir, commit string }{
		{"", ""}, {"pkg/a", ""}, {"other", ""}, {"pkg/a", "first"}, {"pkg/ab", "HEAD~1"},
	} {
		got, err := r.LastChange(g.path(tt.dir), tt.commit)
		args := []string{"log", "-1", "--format=%ct"}
		if tt.commit != "" {
			args = append(args, tt.commit)
		}
		want := strings.TrimSpace(g.git(append(args, "--", g.path(tt.dir))...))
		if err != nil || fmt.Sprint(got.Unix()) != want {
			t.Errorf("LastChange(%q, %q) = %v, %v; want %s", tt.dir, tt.commit, got.Unix(), err, want)
		}
	}
	g.write("pkg/new/x", "x")
	if _, err := r.LastChange(g.path("pkg/new"), ""); err == nil {
		t.Error("LastChange(uncommitted) succeeded")
	}
}

func TestHasUnder(t *testing.T) {
	sorted := []string{"a-b/x", "a.b", "a/b", "a/bc/d", "ab/c", "z"}
	for _, tt := range []struct {
		rel  string
		want bool
	}{
		{"", true}, {"a", true}, {"a/b", true}, {"a/bc", true}, {"a/bcd", false}, {"a/b/c", false},
		{"ab", true}, {"a-b", true}, {"a.b", true}, {"a.", false}, {"y", false}, {"z", true}, {"zz", false},
	} {
		if got := hasUnder(sorted, tt.rel); got != tt.want {
			t.Errorf("hasUnder(%q) = %v, want %v", tt.rel, got, tt.want)
		}
	}
	if hasUnder(nil, "") {
		t.Error("hasUnder(nil, \"\") = true")
	}
}

// TestGlobDirectoryNames: linuxkit passes the package directory to git as a
// pathspec, so "pkg/a*" is dirty when "pkg/ab" is; treehash does the same.
// (An untracked "pkg/qq/new" does not make "pkg/q?" dirty in git's eyes.)
func TestGlobDirectoryNames(t *testing.T) {
	g := baseRepo(t)
	g.write("pkg/a*/build.yml", "image: star\n")
	g.write("pkg/[ab]/build.yml", "image: class\n")
	g.write("pkg/q?/build.yml", "image: q\n")
	g.commitAll("globs")
	dirs := []string{"pkg/a*", "pkg/[ab]", "pkg/q?"}
	clean := New()
	defer clean.Close()
	checkAgainstReference(t, g, clean, dirs, "HEAD")
	g.write("pkg/ab/x", "changed\n")
	g.write("pkg/qq/new", "untracked\n")
	rs := New()
	defer rs.Close()
	checkAgainstReference(t, g, rs, dirs, "HEAD")
	if got := dirtyDirs(t, g, dirs); !slices.Equal(got, []string{"pkg/a*"}) {
		t.Errorf("dirty = %q", got)
	}
}

// TestGitDirEnvironment: with GIT_DIR and GIT_WORK_TREE set, git finds the
// repository by the environment, not by walking up for ".git"; so does Open.
func TestGitDirEnvironment(t *testing.T) {
	g := baseRepo(t)
	gitDir := filepath.Join(t.TempDir(), "separate.git")
	if err := os.Rename(g.path(".git"), gitDir); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GIT_DIR", gitDir)
	t.Setenv("GIT_WORK_TREE", g.dir)
	g.write("pkg/ab/new", "untracked\n")
	rs := New()
	defer rs.Close()
	checkAgainstReference(t, g, rs, []string{"pkg/a", "pkg/ab", "other"}, "HEAD")
	if got := dirtyDirs(t, g, []string{"pkg/a", "pkg/ab"}); !slices.Equal(got, []string{"pkg/ab"}) {
		t.Errorf("dirty = %q", got)
	}
}

// TestUninitialisedSubmodule: a submodule that is not checked out is an empty
// directory whose tree entry is a commit of another repository; linuxkit's
// ls-tree gives that commit id, and so does TreeHash.
func TestUninitialisedSubmodule(t *testing.T) {
	g := baseRepo(t)
	foreign := "0123456789abcdef0123456789abcdef01234567"
	g.git("update-index", "--add", "--cacheinfo", "160000,"+foreign+",pkg/sub")
	g.git("commit", "-q", "-m", "submodule")
	if err := os.MkdirAll(g.path("pkg/sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	rs := New()
	defer rs.Close()
	checkAgainstReference(t, g, rs, []string{"pkg", "pkg/sub"}, "HEAD")
	r, _ := rs.Open(g.path("pkg/sub"))
	if got, err := r.TreeHash(g.path("pkg/sub"), ""); err != nil || got != foreign {
		t.Errorf("TreeHash(submodule) = %q, %v; want %s", got, err, foreign)
	}
}

// TestRandomTrees compares every directory of randomly built and changed
// work trees with linuxkit's answers.
func TestRandomTrees(t *testing.T) {
	names := []string{"a", "b", "a b", "a-b", "a.b", "ab", "é", "x\ty", "Z", "_", "0", "q\"", "long name with spaces", "ü/"}
	for seed := range 6 {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			rnd := rand.New(rand.NewPCG(uint64(seed), 42))
			pick := func() string { return strings.TrimSuffix(names[rnd.IntN(len(names))], "/") }
			g := newGitRepo(t)
			g.write(".gitignore", "*.o\nign/\n")
			dirSet := map[string]bool{"": true}
			var files []string
			for range 40 {
				depth := 1 + rnd.IntN(3)
				var parts []string
				for range depth {
					parts = append(parts, pick())
				}
				p := strings.Join(parts, "/")
				if fi, err := os.Stat(g.path(p)); err == nil && fi.IsDir() {
					continue
				}
				if hasFileAncestor(g, parts) {
					continue
				}
				g.write(p, fmt.Sprintf("content %d\n", rnd.IntN(5)))
				files = append(files, p)
				for i := 1; i < depth; i++ {
					dirSet[strings.Join(parts[:i], "/")] = true
				}
			}
			g.commitAll("random")
			for _, f := range files {
				switch rnd.IntN(8) {
				case 0:
					g.write(f, "modified\n")
				case 1:
					g.remove(f)
				case 2:
					g.write(f, "staged\n")
					g.git("add", "--", f)
				case 3:
					g.write(filepath.Dir(f)+"/new "+pick(), "untracked\n")
				case 4:
					g.write(filepath.Dir(f)+"/x.o", "ignored\n")
				}
			}
			var dirs []string
			for d := range dirSet {
				dirs = append(dirs, d)
			}
			slices.Sort(dirs)
			rs := New()
			defer rs.Close()
			checkAgainstReference(t, g, rs, dirs, "HEAD")
			t.Logf("%d files, %d directories, dirty: %q", len(files), len(dirs), dirtyDirs(t, g, dirs))
		})
	}
}

func hasFileAncestor(g *gitRepo, parts []string) bool {
	for i := 1; i < len(parts); i++ {
		if fi, err := os.Stat(g.path(strings.Join(parts[:i], "/"))); err == nil && !fi.IsDir() {
			return true
		}
	}
	return false
}

func TestTreeHashes(t *testing.T) {
	g := baseRepo(t)
	rs := New()
	defer rs.Close()
	r, err := rs.Open(g.dir)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, d := range baseDirs {
		dirs = append(dirs, g.path(d))
	}
	for _, commit := range []string{"", "HEAD~1", "first"} {
		ids, err := r.TreeHashes(dirs, commit)
		if err != nil {
			t.Fatalf("TreeHashes(%q): %v", commit, err)
		}
		for i, d := range dirs {
			ref := commit
			if ref == "" {
				ref = "HEAD"
			}
			if want, _ := refTreeHash(t, d, ref); ids[i] != want {
				t.Errorf("TreeHashes(%q)[%s] = %s, want %s", commit, baseDirs[i], ids[i], want)
			}
		}
	}
	g.write("pkg/new/x", "x")
	_, err = r.TreeHashes(append(dirs, g.path("pkg/new")), "")
	if err == nil || !strings.Contains(err.Error(), "pkg/new is not in git (commit it first)") {
		t.Errorf("TreeHashes with an uncommitted package: %v", err)
	}
}

// TestAmbiguousName: an ambiguous answer in the middle of a batch must not
// leave later answers in the pipe for the next lookup.
func TestAmbiguousName(t *testing.T) {
	g := baseRepo(t)
	blobs := t.TempDir()
	var paths []string
	for i := range 1500 {
		p := filepath.Join(blobs, fmt.Sprint(i))
		if err := os.WriteFile(p, []byte(fmt.Sprintf("blob %d\n", i)), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	cmd := exec.Command("git", "-C", g.dir, "hash-object", "-w", "--stdin-paths")
	cmd.Stdin = strings.NewReader(strings.Join(paths, "\n") + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	prefix := ""
	for _, oid := range strings.Fields(string(out)) {
		if seen[oid[:4]] {
			prefix = oid[:4]
			break
		}
		seen[oid[:4]] = true
	}
	if prefix == "" {
		t.Skip("no two blobs share a 4-digit prefix")
	}
	rs := New()
	defer rs.Close()
	r, err := rs.Open(g.dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.cat.lookupAll([]string{"HEAD", prefix, "HEAD:pkg", "nope"}); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Fatalf("lookup of ambiguous %s: %v", prefix, err)
	}
	want, _ := refTreeHash(t, g.path("pkg/ab"), "HEAD")
	if got, err := r.TreeHash(g.path("pkg/ab"), ""); err != nil || got != want {
		t.Errorf("TreeHash after an ambiguous name = %q, %v; want %s", got, err, want)
	}
}

// TestPrefetchDirty: with PrefetchDirty the dirty listings start while git confirms the repository; the answers
// and the number of git processes are those of asking afterwards.
func TestPrefetchDirty(t *testing.T) {
	g := newGitRepo(t)
	g.write("pkg/a/f", "a\n")
	g.write("pkg/b/f", "b\n")
	g.commitAll("two")
	g.write("pkg/b/new", "untracked\n")
	rs := New()
	defer rs.Close()
	rs.PrefetchDirty()
	for _, tc := range []struct {
		dir   string
		dirty bool
	}{{"pkg/a", false}, {"pkg/b", true}} {
		r, err := rs.Open(g.path(tc.dir))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := r.IsDirty(g.path(tc.dir)); err != nil || got != tc.dirty {
			t.Errorf("IsDirty(%s) = %v, %v; want %v", tc.dir, got, err, tc.dirty)
		}
	}
	if n := rs.GitProcesses(); n != 4 {
		t.Errorf("two dirty checks started %d git processes, want 4 (rev-parse, cat-file, diff, ls-files)", n)
	}
}

// TestGuessRefusedByGit: a ".git" that git does not take for a repository fails Open as it would without the
// guessed work tree, whose cat-file does not keep Close waiting.
func TestGuessRefusedByGit(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GIT_CEILING_DIRECTORIES", filepath.Dir(dir)) // git must not find a repository above the test's
	if err := os.MkdirAll(filepath.Join(dir, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".git", "HEAD"), []byte("not a ref\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rs := New()
	rs.PrefetchDirty()
	if _, err := rs.Open(dir); err == nil {
		t.Fatal("Open of a directory whose .git is not a repository succeeded")
	}
	closed := make(chan error, 1)
	go func() { closed <- rs.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close still waits after 30 s")
	}
}
