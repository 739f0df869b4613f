package frontend

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var goodDigest = "sha256:" + strings.Repeat("ab", 32)

// pkgFixture makes a package dir with a sibling dir "outside" and a symlink "out" inside pointing to it.
func pkgFixture(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	pkg := filepath.Join(root, "pkg")
	for _, d := range []string{pkg, filepath.Join(root, "outside"), filepath.Join(pkg, "sub"), filepath.Join(root, "src")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("../outside", filepath.Join(pkg, "out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub", filepath.Join(pkg, "in")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(pkg, "images.txt"), "# pinned\n\ndocker.io/library/busybox@"+goodDigest+"\n  \nalpine:3@"+goodDigest+"\n")
	write(t, filepath.Join(pkg, "bad-images.txt"), "alpine:3.20\n")
	return pkg
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestValidateOK(t *testing.T) {
	pkg := pkgFixture(t)
	p, err := ParseBytes("build.yml", []byte(`image: a
dockerfile: in/Dockerfile.x
extra-sources:
  - ../src:vendor/src
depends:
  docker-images:
    target-dir: deps
    from-file: images.txt
`))
	if err != nil {
		t.Fatal(err)
	}
	extras, images, err := p.Validate(pkg)
	if err != nil {
		t.Fatal(err)
	}
	wantExtras := []ExtraSource{{Src: filepath.Join(filepath.Dir(pkg), "src"), Dst: "vendor/src"}}
	if !reflect.DeepEqual(extras, wantExtras) {
		t.Errorf("extras = %+v, want %+v", extras, wantExtras)
	}
	wantImages := []string{"docker.io/library/busybox@" + goodDigest, "alpine:3@" + goodDigest}
	if !reflect.DeepEqual(images, wantImages) {
		t.Errorf("images = %q, want %q", images, wantImages)
	}
}

func TestValidateErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yml string
		want      []string
	}{
		{"absolute dockerfile", "dockerfile: /etc/Dockerfile", []string{"build.yml:2: dockerfile", "must be relative"}},
		{"escaping dockerfile", "dockerfile: sub/../../Dockerfile", []string{"dockerfile", "must be within the package directory"}},
		{"dockerfile through symlink outside", "dockerfile: out/Dockerfile", []string{"dockerfile", "must be within the package directory"}},
		{"dotdot lookalike is fine", "dockerfile: ..Dockerfile", nil},
		{"both targets", "depends:\n  docker-images:\n    target: a.tar\n    target-dir: d\n", []string{"depends.docker-images", "mutually exclusive"}},
		{"both lists", "depends:\n  docker-images:\n    from-file: images.txt\n    list: [a@" + goodDigest + "]\n", []string{"depends.docker-images", `"list" and "from-file" are mutually exclusive`}},
		{"target is package dir", "depends:\n  docker-images:\n    target-dir: .\n", []string{"build.yml:4: depends.docker-images.target-dir", "must not be exactly the package directory"}},
		{"target absolute", "depends:\n  docker-images:\n    target: /tmp/x.tar\n", []string{"depends.docker-images.target", "must be relative"}},
		{"target-dir escapes via symlink", "depends:\n  docker-images:\n    target-dir: out/deps\n", []string{"depends.docker-images.target-dir", "must be within"}},
		{"from-file escapes", "depends:\n  docker-images:\n    from-file: ../images.txt\n", []string{"depends.docker-images.from-file", "must be within"}},
		{"from-file missing", "depends:\n  docker-images:\n    from-file: nope.txt\n", []string{"depends.docker-images.from-file", "cannot read image list"}},
		{"image without digest", "depends:\n  docker-images:\n    list: [alpine:3.20]\n", []string{"build.yml:4: depends.docker-images.list[0]", `image "alpine:3.20" lacks a digest`}},
		{"image without digest in file", "depends:\n  docker-images:\n    from-file: bad-images.txt\n", []string{"depends.docker-images.from-file[0]", "lacks a digest"}},
		{"malformed digest", "depends:\n  docker-images:\n    list: [alpine@sha256:xyz]\n", []string{"depends.docker-images.list[0]", `unable to validate digest in "alpine@sha256:xyz"`}},
		{"bad image name", "depends:\n  docker-images:\n    list: [foo/Bar@" + goodDigest + "]\n", []string{"list[0]", "not a valid reference"}},
		{"extra source without colon", "extra-sources: [../src]", []string{"build.yml:2: extra-sources[0]", "is not `src:dst`"}},
		{"extra source with two colons", "extra-sources: ['../src:a:b']", []string{"extra-sources[0]", "exactly one colon"}},
		{"extra source missing", "extra-sources: [../nope:x]", []string{"extra-sources[0]", "is not a directory"}},
		{"extra destination escapes", "extra-sources: [../src:a/../../x]", []string{"build.yml:2: extra-sources[0]", "escapes the build context"}},
		{"extra destination escapes from the root", "extra-sources: [../src:/../x]", []string{"extra-sources[0]", `"/../x" escapes the build context`}},
		{"extra destination escapes and comes back", "extra-sources: [../src:../pkg/x]", []string{"extra-sources[0]", "escapes the build context"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkg := pkgFixture(t)
			p, err := ParseBytes("build.yml", []byte("image: a\n"+tc.yml+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = p.Validate(pkg)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("expected an error")
			}
			assertInOrder(t, err.Error(), tc.want)
		})
	}
}

// An extra source's destination is a path inside the build context, "/" being its root, as in linuxkit.
func TestExtraSourceDestinations(t *testing.T) {
	pkg := pkgFixture(t)
	for dst, want := range map[string]string{
		"common": "common", "/common": "common", "./common/": "common", "/a/b/../c": "a/c", "//x//y": "x/y",
		"/": ".", ".": ".", "a/..": ".", "/./": ".",
	} {
		p, err := ParseBytes("build.yml", []byte("image: a\nextra-sources: ['../src:"+dst+"']\n"))
		if err != nil {
			t.Fatal(err)
		}
		extras, _, err := p.Validate(pkg)
		if err != nil {
			t.Errorf("%q: %v", dst, err)
			continue
		}
		if extras[0].Dst != want {
			t.Errorf("%q: destination %q, want %q", dst, extras[0].Dst, want)
		}
	}
}

func TestSubPath(t *testing.T) {
	pkg := pkgFixture(t)
	for _, tc := range []struct {
		rel string
		ok  bool
	}{
		{"Dockerfile", true}, {"sub/x", true}, {"in/x", true}, {"./a/../b", true}, {"new/dir/file", true},
		{"..", false}, {"../pkg/x", false}, {"/abs", false}, {"out", false}, {"out/x/y", false}, {"sub/../../x", false},
	} {
		_, err := SubPath(pkg, tc.rel)
		if (err == nil) != tc.ok {
			t.Errorf("SubPath(%q): err=%v, want ok=%v", tc.rel, err, tc.ok)
		}
	}
}
