package frontend

import (
	"crypto/sha1"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lkpkg/lkpkg/frontend/gittest"
)

func load(t *testing.T, opts Options, dir string) *Package {
	t.Helper()
	l := NewLoader(opts)
	defer l.Close()
	p, err := l.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func seedRepo(t *testing.T) *gittest.Repo {
	r := gittest.New(t)
	r.Write("pkg/foo/build.yml", "image: foo\n")
	r.Write("pkg/foo/Dockerfile", "FROM scratch\n")
	r.Write("pkg/foobar/build.yml", "image: foobar\norg: acme\ntag: v1-{{.Hash}}\n")
	r.Write("pkg/foobar/Dockerfile", "FROM scratch\n")
	r.Write("src/lib/a.go", "package lib\n")
	r.Write(".gitignore", "*.o\n")
	r.Commit()
	return r
}

func TestLoadTags(t *testing.T) {
	r := seedRepo(t)
	foo := filepath.Join(r.Dir, "pkg/foo")
	tree := r.LsTree("pkg/foo")

	p := load(t, Options{}, foo)
	if want := "linuxkit/foo:" + tree; p.Tag() != want || p.Dirty {
		t.Fatalf("clean: got %s dirty=%v, want %s", p.Tag(), p.Dirty, want)
	}
	if want := "docker.io/linuxkit/foo:" + tree; p.FullTag() != want {
		t.Errorf("FullTag = %s, want %s", p.FullTag(), want)
	}
	if p.Commit != r.Git("rev-parse", "HEAD") || !p.InGit {
		t.Errorf("commit = %s", p.Commit)
	}
	bar := load(t, Options{}, filepath.Join(r.Dir, "pkg/foobar"))
	if want := "acme/foobar:v1-" + r.LsTree("pkg/foobar"); bar.Tag() != want {
		t.Errorf("template from build.yml: got %s, want %s", bar.Tag(), want)
	}
}

func TestLoadOverrides(t *testing.T) {
	r := seedRepo(t)
	foo := filepath.Join(r.Dir, "pkg/foo")
	tree := r.LsTree("pkg/foo")
	yes, no := true, false
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"org", Options{Org: "me"}, "me/foo:" + tree},
		{"org with registry", Options{Org: "ghcr.io/x"}, "ghcr.io/x/foo:" + tree},
		{"hash verbatim", Options{Hash: "abc"}, "linuxkit/foo:abc"},
		{"tag template", Options{Tag: "{{.Hash}}-x"}, "linuxkit/foo:" + tree + "-x"},
		{"tag without hash", Options{Tag: "cli"}, "linuxkit/foo:cli"},
		{"dev", Options{Dev: true, User: "alice"}, "alice/foo:dev"},
		{"dev with org and hash", Options{Dev: true, User: "alice", Org: "bob", Hash: "h"}, "bob/foo:h"},
		{"hash-path parent", Options{HashPath: filepath.Join(r.Dir, "pkg")}, "linuxkit/foo:" + r.LsTree("pkg")},
		{"hash-path top", Options{HashPath: r.Dir}, "linuxkit/foo:" + r.RootTree()},
		{"force dirty", Options{ForceDirty: true}, "linuxkit/foo:" + tree + "-dirty-" + r.ContentHash("pkg/foo")[:7]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if p := load(t, tc.opts, foo); p.Tag() != tc.want {
				t.Fatalf("got %s, want %s", p.Tag(), tc.want)
			}
		})
	}
	p := load(t, Options{Network: &yes, DisableCache: &yes}, foo)
	if !p.Network || !p.DisableCache {
		t.Error("network/disable-cache overrides not applied")
	}
	r.Write("pkg/net/build.yml", "image: net\nnetwork: true\ndisable-cache: true\n")
	r.Commit()
	p = load(t, Options{Network: &no, DisableCache: &no}, filepath.Join(r.Dir, "pkg/net"))
	if p.Network || p.DisableCache {
		t.Error("overrides must win over build.yml")
	}
}

func TestLoadHashCommit(t *testing.T) {
	r := seedRepo(t)
	old := r.LsTree("pkg/foo")
	r.Write("pkg/foo/extra", "x")
	r.Commit()
	r.Write("pkg/foo/uncommitted", "y") // dirty at HEAD, but hash-commit ignores the work tree
	p := load(t, Options{HashCommit: "HEAD~1"}, filepath.Join(r.Dir, "pkg/foo"))
	if p.Tag() != "linuxkit/foo:"+old || p.Dirty {
		t.Fatalf("got %s dirty=%v, want tree %s clean", p.Tag(), p.Dirty, old)
	}
}

func TestLoadDirty(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mess  func(r *gittest.Repo)
		dirty bool
	}{
		{"modified", func(r *gittest.Repo) { r.Write("pkg/foo/Dockerfile", "FROM busybox\n") }, true},
		{"staged", func(r *gittest.Repo) { r.Write("pkg/foo/Dockerfile", "FROM b\n"); r.Git("add", "pkg/foo/Dockerfile") }, true},
		{"deleted", func(r *gittest.Repo) { os.Remove(filepath.Join(r.Dir, "pkg/foo/Dockerfile")) }, true},
		{"untracked", func(r *gittest.Repo) { r.Write("pkg/foo/new.txt", "n") }, true},
		{"untracked in subdir", func(r *gittest.Repo) { r.Write("pkg/foo/a/b/c.txt", "n") }, true},
		{"ignored only", func(r *gittest.Repo) { r.Write("pkg/foo/x.o", "obj") }, false},
		{"sibling with common prefix", func(r *gittest.Repo) { r.Write("pkg/foobar/new", "n") }, false},
		{"elsewhere in the repo", func(r *gittest.Repo) { r.Write("README", "n") }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := seedRepo(t)
			tree := r.LsTree("pkg/foo")
			tc.mess(r)
			p := load(t, Options{}, filepath.Join(r.Dir, "pkg/foo"))
			want := "linuxkit/foo:" + tree
			if tc.dirty {
				want += "-dirty-" + r.ContentHash("pkg/foo")[:7]
			}
			if p.Tag() != want || p.Dirty != tc.dirty {
				t.Fatalf("got %s (dirty=%v), want %s", p.Tag(), p.Dirty, want)
			}
		})
	}
}

func TestLoadTopLevelPackage(t *testing.T) {
	r := gittest.New(t)
	r.Write("build.yml", "image: top\n")
	r.Write("Dockerfile", "FROM scratch\n")
	r.Commit()
	p := load(t, Options{}, r.Dir)
	if want := "linuxkit/top:" + r.RootTree(); p.Tag() != want {
		t.Fatalf("got %s, want %s", p.Tag(), want)
	}
}

func TestLoadNotInGit(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "build.yml"), "image: loose\n")
	p := load(t, Options{}, dir)
	if p.Tag() != "linuxkit/loose:latest" || p.InGit || p.Hash != "" {
		t.Fatalf("got %s inGit=%v hash=%q", p.Tag(), p.InGit, p.Hash)
	}
	if p := load(t, Options{Tag: "v-{{.Hash}}"}, dir); p.Tag() != "linuxkit/loose:v-" {
		t.Fatalf("template outside git: got %s", p.Tag())
	}
}

func TestLoadExtraSources(t *testing.T) {
	r := seedRepo(t)
	r.Write("pkg/withsrc/build.yml", "image: withsrc\nextra-sources:\n  - ../../src/lib:lib\n")
	r.Commit()
	dir := filepath.Join(r.Dir, "pkg/withsrc")
	combined := sha1.Sum([]byte(r.LsTree("pkg/withsrc") + r.LsTree("src/lib")))
	want := "linuxkit/withsrc:" + hex.EncodeToString(combined[:])
	if p := load(t, Options{}, dir); p.Tag() != want || p.Dirty {
		t.Fatalf("got %s dirty=%v, want %s", p.Tag(), p.Dirty, want)
	}

	// lkpkg's deliberate improvement: a dirty extra source makes the package dirty, and each dirty state of the
	// extra source yields a different tag.
	r.Write("src/lib/a.go", "package lib // changed\n")
	first := load(t, Options{}, dir)
	if !first.Dirty || !strings.HasPrefix(first.Tag(), want+"-dirty-") {
		t.Fatalf("dirty extra source: got %s dirty=%v", first.Tag(), first.Dirty)
	}
	r.Write("src/lib/a.go", "package lib // changed again\n")
	if second := load(t, Options{}, dir); second.Tag() == first.Tag() {
		t.Fatalf("two dirty states of the extra source share tag %s", first.Tag())
	}
}

func TestLoadExtraSourceOutsideGit(t *testing.T) {
	r := seedRepo(t)
	outside := t.TempDir()
	r.Write("pkg/ext/build.yml", "image: ext\nextra-sources:\n  - "+outside+":x\n")
	r.Commit()
	l := NewLoader(Options{})
	defer l.Close()
	_, err := l.Load(filepath.Join(r.Dir, "pkg/ext"))
	if err == nil || !strings.Contains(err.Error(), "extra-sources[0]: source "+outside+" is not in a git repository") {
		t.Fatalf("got %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	r := seedRepo(t)
	foo := filepath.Join(r.Dir, "pkg/foo")
	r.Write("pkg/badtmpl/build.yml", "image: badtmpl\ntag: \"{{.Hash\"\n")
	r.Commit()
	r.Write("pkg/uncommitted/build.yml", "image: uncommitted\n")
	for _, tc := range []struct {
		name string
		opts Options
		dir  string
		want []string
	}{
		{"missing dir", Options{}, filepath.Join(r.Dir, "nope"), []string{"package directory", "no such file"}},
		{"not a directory", Options{}, filepath.Join(foo, "Dockerfile"), []string{"is not a directory"}},
		{"missing build.yml", Options{BuildYML: "other.yml"}, foo, []string{"other.yml: no such file"}},
		{"bad template field", Options{Tag: "{{.Sha}}"}, foo, []string{"--tag: bad tag template", "the only field is {{.Hash}}"}},
		{"bad template syntax", Options{Tag: "{{"}, foo, []string{"--tag: bad tag template"}},
		{"bad template in build.yml", Options{}, filepath.Join(r.Dir, "pkg/badtmpl"), []string{"build.yml: tag: bad tag template"}},
		{"template renders an invalid tag", Options{Tag: "a/{{.Hash}}"}, foo, []string{"not a valid image tag"}},
		{"invalid org", Options{Org: "Has Space"}, foo, []string{`--org "Has Space" is not a valid org`}},
		{"hash-path not a parent", Options{HashPath: filepath.Join(r.Dir, "src")}, foo, []string{"--hash-path", "is not a parent"}},
		{"hash-path string prefix is not a parent", Options{HashPath: filepath.Join(r.Dir, "pkg/fo")}, foo, []string{"--hash-path"}},
		{"not committed", Options{}, filepath.Join(r.Dir, "pkg/uncommitted"), []string{"not in git"}},
		{"unknown commit", Options{HashCommit: "nosuchref"}, foo, []string{"nosuchref"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLoader(tc.opts)
			defer l.Close()
			_, err := l.Load(tc.dir)
			if err == nil {
				t.Fatal("expected an error")
			}
			assertInOrder(t, err.Error(), tc.want)
		})
	}
}

// An org or image that cannot name an image is refused when the package loads, before anything is built,
// naming build.yml's key and line, or the flag or variable the value came from.
func TestLoadInvalidNames(t *testing.T) {
	dir := t.TempDir() // no git needed: the names are checked before the hash
	for _, tc := range []struct {
		name, yml string
		opts      Options
		want      []string
	}{
		{"uppercase org", "image: x\norg: Foo\n", Options{}, []string{"build.yml:2: org: \"Foo\" is not a valid org: repository names must be lowercase"}},
		{"org with a tag", "image: x\norg: me/x:1\n", Options{}, []string{"build.yml:2: org: \"me/x:1\" is not a valid org", "[registry/]component"}},
		{"org with a space", "image: x\norg: my org\n", Options{}, []string{"build.yml:2: org:", "not a valid org"}},
		{"org with an empty component", "image: x\norg: me/\n", Options{}, []string{"build.yml:2: org:", "not a valid org"}},
		{"image with a tag", "org: me\nimage: a:b\n", Options{}, []string{"build.yml:2: image: \"a:b\" is not a valid image name: it carries a tag or digest", "--tag"}},
		{"image with a digest", "image: a@sha256:" + strings.Repeat("0", 64) + "\n", Options{}, []string{"build.yml:1: image:", "carries a tag or digest"}},
		{"uppercase image", "image: Init\n", Options{}, []string{"build.yml:1: image: \"Init\"", "must be lowercase"}},
		{"image with a bad component", "image: a/-b\n", Options{}, []string{"build.yml:1: image:", "not a valid image name"}},
		{"--org", "image: x\n", Options{Org: "Foo"}, []string{`--org "Foo" is not a valid org: repository names must be lowercase`}},
		{"LINUXKIT_PKG_ORG", "image: x\n", Options{Org: "Foo", OrgSource: "LINUXKIT_PKG_ORG"}, []string{`LINUXKIT_PKG_ORG "Foo" is not a valid org`}},
		{"--dev user", "image: x\n", Options{Dev: true, User: "Alice"}, []string{`--dev uses the user name "Alice"`, "pass --org"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			write(t, filepath.Join(dir, "build.yml"), tc.yml)
			l := NewLoader(tc.opts)
			defer l.Close()
			_, err := l.Load(dir)
			if err == nil {
				t.Fatal("expected an error")
			}
			assertInOrder(t, err.Error(), tc.want)
			if strings.Contains(err.Error(), "invalid reference format") {
				t.Errorf("raw library message: %v", err)
			}
		})
	}
	for _, yml := range []string{"image: x\norg: ghcr.io/me\n", "image: x\norg: localhost:5000/a/b\n", "image: tools/go-compile\n", "image: a.b_c-d\n"} {
		write(t, filepath.Join(dir, "build.yml"), yml)
		l := NewLoader(Options{})
		if _, err := l.Load(dir); err != nil {
			t.Errorf("%q: %v", yml, err)
		}
		l.Close()
	}
}

func TestLoadSHA256Repository(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("git", "init", "-q", "--object-format=sha256", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git init: %v %s", err, out)
	}
	write(t, filepath.Join(dir, "build.yml"), "image: x\n")
	l := NewLoader(Options{})
	defer l.Close()
	_, err := l.Load(dir)
	if err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Fatalf("got %v, want a clear SHA-256 error", err)
	}
}

func TestResolveBuildArgs(t *testing.T) {
	r := seedRepo(t)
	r.Write("deps/one-a/build.yml", "image: one-a\n")
	r.Write("deps/two/build.yml", "image: two\norg: my-org\n")
	r.Write("deps/.hidden/build.yml", "image: hidden\n")
	r.Commit()
	l := NewLoader(Options{Org: "ignored-for-references", Tag: "also-ignored"})
	defer l.Close()
	base := filepath.Join(r.Dir, "pkg/foo")
	args, err := l.ResolveBuildArgs([]string{
		"PLAIN=a=b",
		"ONE=@lkt:pkg:../../deps/one-a",
		"ABS=@lkt:pkg:" + filepath.Join(r.Dir, "deps/two"),
		"HASH_%_TAG=@lkt:pkgs:../../deps/*",
	}, base, "build.yml buildArgs")
	if err != nil {
		t.Fatal(err)
	}
	one, two := "linuxkit/one-a:"+r.LsTree("deps/one-a"), "my-org/two:"+r.LsTree("deps/two")
	want := []BuildArg{{"PLAIN", "a=b"}, {"ONE", one}, {"ABS", two},
		{"HASH_LINUXKIT_ONE_A_TAG", one}, {"HASH_MY_ORG_TWO_TAG", two}}
	if len(args) != len(want) {
		t.Fatalf("got %v, want %v", args, want)
	}
	for i := range want {
		if args[i] != want[i] {
			t.Errorf("arg %d = %v, want %v", i, args[i], want[i])
		}
	}
	for _, bad := range []struct{ entry, want string }{
		{"X=@lkt:pkgs:../../deps/*", "needs a % in the key"},
		{"X%=@lkt:pkgs:../../nothing/*", "matched no package directories"},
		{"X=@lkt:what:x", "unknown linuxkit build arg value"},
		{"X=@lkt:pkg:../../nope", "resolving @lkt:pkg:../../nope"},
		{"NOEQUALS", "is not KEY=VALUE"},
	} {
		if _, err := l.ResolveBuildArgs([]string{bad.entry}, base, "f"); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: got %v, want %q", bad.entry, err, bad.want)
		}
	}
}

func TestReadBuildArgFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "args")
	write(t, f, "# comment\n A = b \n\nC=@lkt:pkg:x\nD=\n")
	got, err := ReadBuildArgFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != "A=b|C=@lkt:pkg:x|D=" {
		t.Fatalf("got %q", got)
	}
	// Lines of any length: a certificate or token well past bufio.Scanner's 64 KiB limit.
	long := strings.Repeat("x", 1<<20)
	write(t, f, "CERT="+long+"\r\nB=c\n")
	if got, err := ReadBuildArgFile(f); err != nil || len(got) != 2 || got[0] != "CERT="+long || got[1] != "B=c" {
		t.Fatalf("long line: %d entries, %v", len(got), err)
	}
	const secret = "hunter2-s3cr3t"
	for _, tc := range []struct {
		name, content, want string
	}{
		{"no equals sign", "A=b\n" + secret + "\n", ":2: the line is not KEY=VALUE"},
		{"empty key", "# c\n\n =" + secret + "\n", ":3: the line is not KEY=VALUE"},
		{"long malformed line", "A=b\nB=c\n" + secret + strings.Repeat("y", 200<<10) + "\n", ":3: the line is not KEY=VALUE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			write(t, f, tc.content)
			_, err := ReadBuildArgFile(f)
			if err == nil || !strings.Contains(err.Error(), "--build-arg-file "+f+tc.want) {
				t.Fatalf("got %v, want %q", err, f+tc.want)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "yyyy") {
				t.Fatalf("the line's content is echoed: %v", err)
			}
		})
	}
}

func TestDevUser(t *testing.T) {
	t.Setenv("USER", "alice")
	if got := DevUser(); got != "alice" {
		t.Errorf("DevUser() with USER=alice = %q", got)
	}
	t.Setenv("USER", "")
	if got := DevUser(); got == "" || got == "alice" {
		t.Errorf("DevUser() without USER = %q, want the account's name or dev", got)
	}
}
