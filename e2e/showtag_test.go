package e2e

import (
	"crypto/sha1"
	"debug/elf"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/lkpkg/lkpkg/frontend/gittest"
)

// packageTree is a scripted repository laid out like a LinuxKit tree: pkg/<name> packages, a shared source dir
// used as an extra source, a .gitignore, and a package at the top of a second repository.
func packageTree(t *testing.T) *gittest.Repo {
	r := gittest.New(t)
	r.Write(".gitignore", "*.o\n")
	r.Write("pkg/init/build.yml", "image: init\n")
	r.Write("pkg/init/Dockerfile", "FROM scratch\n")
	r.Write("pkg/init/etc/x", "x\n")
	r.Write("pkg/initrd/build.yml", "image: initrd\norg: acme\n")
	r.Write("pkg/tmpl/build.yml", "image: tmpl\ntag: \"v1-{{.Hash}}\"\n")
	r.Write("pkg/src/build.yml", "image: src\nextra-sources:\n  - ../../lib:lib\n")
	r.Write("lib/lib.go", "package lib\n")
	r.Write("pkg/abs/build.yml", "image: abs\nextra-sources:\n  - ../../common:/common\n")
	r.Write("pkg/root/build.yml", "image: root\nextra-sources:\n  - ../../lib:/\n  - ../../common:/common\n")
	r.Write("common/common.mk", "CFLAGS=-O2\n")
	r.Write("kernel/common/build-kernel.yml", "image: kernel\nnetwork: true\n")
	r.Write("kernel/6.6/build-args", "V=6.6\n")
	r.Commit()
	return r
}

func TestShowTagMatchesGit(t *testing.T) {
	r := packageTree(t)
	initTree, initrdTree := r.LsTree("pkg/init"), r.LsTree("pkg/initrd")
	srcHash := sha1.Sum([]byte(r.LsTree("pkg/src") + r.LsTree("lib")))
	// linuxkit's tag with extra sources: sha1 over the package's tree id and each source's tree id, concatenated
	// as hex text in build.yml's order; the destination never enters it.
	linuxkitTag := func(pkg string, sources ...string) string {
		text := r.LsTree(pkg)
		for _, src := range sources {
			text += r.LsTree(src)
		}
		sum := sha1.Sum([]byte(text))
		return hex.EncodeToString(sum[:])
	}
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"clean", nil, []string{"pkg/init"}, []string{"linuxkit/init:" + initTree}},
		{"several packages in order", nil, []string{"pkg/initrd", "pkg/init"}, []string{"acme/initrd:" + initrdTree, "linuxkit/init:" + initTree}},
		{"canonical", nil, []string{"--canonical", "pkg/init"}, []string{"docker.io/linuxkit/init:" + initTree}},
		{"template in build.yml", nil, []string{"pkg/tmpl"}, []string{"linuxkit/tmpl:v1-" + r.LsTree("pkg/tmpl")}},
		{"extra sources", nil, []string{"pkg/src"}, []string{"linuxkit/src:" + hex.EncodeToString(srcHash[:])}},
		{"extra source at an absolute destination", nil, []string{"pkg/abs"}, []string{"linuxkit/abs:" + linuxkitTag("pkg/abs", "common")}},
		{"extra sources at the context root and below it", nil, []string{"pkg/root"}, []string{"linuxkit/root:" + linuxkitTag("pkg/root", "lib", "common")}},
		{"--org", nil, []string{"--org", "me", "pkg/initrd"}, []string{"me/initrd:" + initrdTree}},
		{"LINUXKIT_PKG_ORG", []string{"LINUXKIT_PKG_ORG=envorg"}, []string{"pkg/init"}, []string{"envorg/init:" + initTree}},
		{"--org beats LINUXKIT_PKG_ORG", []string{"LINUXKIT_PKG_ORG=envorg"}, []string{"pkg/init", "--org", "flag"}, []string{"flag/init:" + initTree}},
		{"--dev", []string{"USER=alice"}, []string{"--dev", "pkg/initrd"}, []string{"alice/initrd:dev"}},
		{"--hash", nil, []string{"--hash", "abc", "pkg/init"}, []string{"linuxkit/init:abc"}},
		{"--tag beats build.yml", nil, []string{"--tag", "cli", "pkg/tmpl"}, []string{"linuxkit/tmpl:cli"}},
		{"--tag template", nil, []string{"-tag", "{{.Hash}}-rc", "pkg/init"}, []string{"linuxkit/init:" + initTree + "-rc"}},
		{"--hash-path", nil, []string{"--hash-path", "pkg", "pkg/init"}, []string{"linuxkit/init:" + r.LsTree("pkg")}},
		{"--force-dirty", nil, []string{"--force-dirty", "pkg/init"}, []string{"linuxkit/init:" + initTree + "-dirty-" + r.ContentHash("pkg/init")[:7]}},
		{"kernel-style invocation", nil, []string{"--hash", "h1", "--tag", "6.6-{{.Hash}}", "--build-yml", "./common/build-kernel.yml", "kernel"},
			[]string{"linuxkit/kernel:6.6-h1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Fields(mustLkpkg(t, r.Dir, tc.env, append([]string{"pkg", "show-tag"}, tc.args...)...))
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestShowTagFlagsBeforeSubcommand(t *testing.T) {
	r := packageTree(t)
	got := strings.TrimSpace(mustLkpkg(t, r.Dir, nil, "pkg", "--org", "x", "show-tag", "pkg/init"))
	if want := "x/init:" + r.LsTree("pkg/init"); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestShowTagHashCommit(t *testing.T) {
	r := packageTree(t)
	old := r.LsTree("pkg/init")
	r.Write("pkg/init/new", "n")
	r.Commit()
	r.Git("tag", "v2")
	r.Write("pkg/init/new", "changed")
	got := strings.TrimSpace(mustLkpkg(t, r.Dir, nil, "pkg", "show-tag", "--hash-commit", "HEAD~1", "pkg/init"))
	if got != "linuxkit/init:"+old {
		t.Fatalf("got %s, want tree at HEAD~1 %s", got, old)
	}
	got = strings.TrimSpace(mustLkpkg(t, r.Dir, nil, "pkg", "show-tag", "--hash-commit", "v2", "pkg/init"))
	if got != "linuxkit/init:"+r.LsTree("pkg/init") {
		t.Fatalf("tag v2: got %s", got)
	}
}

func TestShowTagDirtyStates(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mess  func(r *gittest.Repo)
		dirty bool
	}{
		{"modified tracked file", func(r *gittest.Repo) { r.Write("pkg/init/etc/x", "y\n") }, true},
		{"staged change", func(r *gittest.Repo) { r.Write("pkg/init/etc/x", "z\n"); r.Git("add", ".") }, true},
		{"untracked file", func(r *gittest.Repo) { r.Write("pkg/init/etc/new", "n\n") }, true},
		{"ignored file", func(r *gittest.Repo) { r.Write("pkg/init/build.o", "o\n") }, false},
		{"change in a sibling with a common prefix", func(r *gittest.Repo) { r.Write("pkg/initrd/new", "n\n") }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := packageTree(t)
			tree := r.LsTree("pkg/init")
			tc.mess(r)
			want := "linuxkit/init:" + tree
			if tc.dirty {
				want += "-dirty-" + r.ContentHash("pkg/init")[:7]
			}
			if got := strings.TrimSpace(mustLkpkg(t, r.Dir, nil, "pkg", "show-tag", "pkg/init")); got != want {
				t.Fatalf("got %s, want %s", got, want)
			}
		})
	}
}

func TestShowTagDirtyExtraSource(t *testing.T) {
	r := packageTree(t)
	clean := strings.TrimSpace(mustLkpkg(t, r.Dir, nil, "pkg", "show-tag", "pkg/src"))
	r.Write("lib/lib.go", "package lib // edited\n")
	dirty := strings.TrimSpace(mustLkpkg(t, r.Dir, nil, "pkg", "show-tag", "pkg/src"))
	if !strings.HasPrefix(dirty, clean+"-dirty-") {
		t.Fatalf("an uncommitted change in an extra source must make the package dirty: clean %s, now %s", clean, dirty)
	}
}

func TestShowTagTopLevelAndOutsideGit(t *testing.T) {
	top := gittest.New(t)
	top.Write("build.yml", "image: top\n")
	top.Commit()
	if got := strings.TrimSpace(mustLkpkg(t, top.Dir, nil, "pkg", "show-tag", ".")); got != "linuxkit/top:"+top.RootTree() {
		t.Fatalf("top-level package: got %s", got)
	}
	loose := t.TempDir()
	if err := os.WriteFile(filepath.Join(loose, "build.yml"), []byte("image: loose\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(mustLkpkg(t, loose, nil, "pkg", "show-tag", ".")); got != "linuxkit/loose:latest" {
		t.Fatalf("outside git: got %s", got)
	}
}

func TestShowTagBadInput(t *testing.T) {
	r := packageTree(t)
	r.Write("bad/unknown/build.yml", "image: x\nnetwrok: true\n") //nolint:misspell // a deliberate typo: the input under test
	r.Write("bad/types/build.yml", "image: x\narches: amd64\n")
	r.Write("bad/noimage/build.yml", "org: x\n")
	r.Write("bad/empty/build.yml", "")
	r.Write("bad/digest/build.yml", "image: x\ndepends:\n  docker-images:\n    list: [alpine:3]\n")
	r.Write("bad/escape/build.yml", "image: x\ndockerfile: ../../Dockerfile\n")
	r.Write("bad/extra/build.yml", "image: x\nextra-sources: [../../lib]\n")
	r.Write("bad/file", "not a dir")
	r.Commit()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown key", []string{"bad/unknown"}, "bad/unknown/build.yml:2: netwrok: unknown key"}, //nolint:misspell // a deliberate typo: the input under test
		{"wrong type", []string{"bad/types"}, "bad/types/build.yml:2: arches: expected a list"},
		{"missing image", []string{"bad/noimage"}, "bad/noimage/build.yml: image: is required"},
		{"empty file", []string{"bad/empty"}, "bad/empty/build.yml: file is empty"},
		{"missing build.yml", []string{"lib"}, "lib/build.yml: no such file"},
		{"image without digest", []string{"bad/digest"}, `image "alpine:3" lacks a digest`},
		{"escaping dockerfile", []string{"bad/escape"}, "dockerfile: \"../../Dockerfile\" must be within the package directory"},
		{"extra source without colon", []string{"bad/extra"}, "extra-sources[0]: \"../../lib\" is not `src:dst`"},
		{"not a directory", []string{"bad/file"}, "bad/file is not a directory"},
		{"missing directory", []string{"nope"}, "package directory nope"},
		{"bad tag template", []string{"--tag", "{{.Hsh}}", "pkg/init"}, "--tag: bad tag template"},
		{"hash-path not a parent", []string{"--hash-path", "lib", "pkg/init"}, "--hash-path lib is not a parent"},
		{"both network flags", []string{"--network", "--nonetwork", "pkg/init"}, "cannot set both --network and --nonetwork"},
		{"no package", nil, "show-tag needs at least one package directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := lkpkg(t, r.Dir, nil, append([]string{"pkg", "show-tag"}, tc.args...)...)
			if res.code == 0 || !strings.Contains(res.stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want failure mentioning %q", res.code, res.stderr, tc.want)
			}
			if res.stdout != "" {
				t.Fatalf("nothing may be printed on stdout on failure, got %q", res.stdout)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	out := mustLkpkg(t, t.TempDir(), nil, "version")
	if !strings.HasPrefix(out, "lkpkg version ") {
		t.Fatalf("got %q", out)
	}
}

// lkpkg version names the binary's architecture and whether it is static (make build links libc dynamically,
// make release statically), as the binary's ELF headers say.
func TestVersionArchAndLinking(t *testing.T) {
	out := mustLkpkg(t, t.TempDir(), nil, "version")
	f, err := elf.Open(lkpkgBin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	linking := "\nstatic: yes\n"
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			linking = "\nstatic: no (loader /"
		}
	}
	for _, want := range []string{"\ncommit: ", "\narch: linux/" + runtime.GOARCH + "\n", linking} {
		if !strings.Contains(out, want) {
			t.Errorf("lkpkg version lacks %q:\n%s", want, out)
		}
	}
}
