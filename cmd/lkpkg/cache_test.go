package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lkpkg/lkpkg/snapshot"
)

const fixtureIndex = "sha256:a4db15e1aaa08a6e8d3abf5fe1c4c5526848ad4cb57a9add736f5719771b0434"

// run runs lkpkg in-process with args and stdin, returning stdout and the error.
func run(t *testing.T, stdin []byte, args ...string) (string, error) {
	t.Helper()
	app := newApp()
	var out bytes.Buffer
	app.Writer = &out
	app.ErrWriter = &bytes.Buffer{}
	app.Reader = bytes.NewReader(stdin)
	err := app.Run(append([]string{"lkpkg"}, args...))
	return out.String(), err
}

func mustRun(t *testing.T, stdin []byte, args ...string) string {
	t.Helper()
	out, err := run(t, stdin, args...)
	if err != nil {
		t.Fatalf("lkpkg %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// fixtureTar is the bundled busybox layout as a tar file.
func fixtureTar(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fixture.tar")
	if out, err := exec.Command("tar", "-C", "../../examples/busybox-oci", "-cf", path, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, out)
	}
	return path
}

func TestCacheImportLsRm(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	tarPath := fixtureTar(t)
	out := mustRun(t, nil, "cache", "import", "--cache", dir, tarPath)
	if out != "busybox:fixture\t"+fixtureIndex+"\n" {
		t.Fatalf("import printed %q", out)
	}
	// Stdin, and a second name for the same image under its full reference, so rm by short name can be tested.
	b, _ := os.ReadFile(tarPath)
	mustRun(t, b, "--cache", dir, "cache", "import", "-")
	cache, err := snapshot.OpenCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := cache.FindRoot("busybox:fixture")
	for _, n := range []string{"docker.io/library/busybox:latest", "docker.io/linuxkit/zz:1", "docker.io/linuxkit/aa:1"} {
		if err := cache.DescriptorWrite(n, root); err != nil {
			t.Fatal(err)
		}
	}
	want := "image name\troot manifest hash\n" +
		"busybox:fixture\t" + fixtureIndex + "\n" +
		"docker.io/library/busybox:latest\t" + fixtureIndex + "\n" +
		"docker.io/linuxkit/aa:1\t" + fixtureIndex + "\n" +
		"docker.io/linuxkit/zz:1\t" + fixtureIndex + "\n"
	if got := mustRun(t, nil, "cache", "ls", "--cache", dir); got != want {
		t.Fatalf("ls:\n%s\nwant:\n%s", got, want)
	}
	// Short names expand as linuxkit's ReferenceExpand; exact names still work.
	mustRun(t, nil, "--cache", dir, "cache", "rm", "busybox", "linuxkit/zz:1", "busybox:fixture")
	if got := mustRun(t, nil, "--cache", dir, "cache", "ls"); got != "image name\troot manifest hash\ndocker.io/linuxkit/aa:1\t"+fixtureIndex+"\n" {
		t.Fatalf("ls after rm:\n%s", got)
	}
	// The blobs are still there: aa:1 uses them.
	if ok, err := cache.ImageInCache("docker.io/linuxkit/aa:1", "s390x"); !ok || err != nil {
		t.Fatalf("shared blobs removed: %v %v", ok, err)
	}
	_, err = run(t, nil, "--cache", dir, "cache", "rm", "linuxkit/aa:1", "nothere")
	if err == nil || !strings.Contains(err.Error(), "nothere") || !strings.Contains(err.Error(), "docker.io/library/nothere:latest") {
		t.Fatalf("rm unknown: %v", err)
	}
	mustRun(t, nil, "--cache", dir, "cache", "clean")
	if got := mustRun(t, nil, "--cache", dir, "cache", "ls"); got != "image name\troot manifest hash\n" {
		t.Fatalf("ls after clean: %q", got)
	}
}

// --cache on the subcommand wins over the root's, which wins over LINUXKIT_CACHE.
func TestCacheDirPrecedence(t *testing.T) {
	base := t.TempDir()
	tarPath := fixtureTar(t)
	envDir, rootDir, subDir := filepath.Join(base, "env"), filepath.Join(base, "root"), filepath.Join(base, "sub")
	t.Setenv("LINUXKIT_CACHE", envDir)
	mustRun(t, nil, "cache", "import", tarPath)
	mustRun(t, nil, "--cache", rootDir, "cache", "import", tarPath)
	mustRun(t, nil, "--cache", rootDir, "cache", "import", "--cache", subDir, tarPath)
	for _, dir := range []string{envDir, rootDir, subDir} {
		var idx struct{ Manifests []json.RawMessage }
		b, err := os.ReadFile(filepath.Join(dir, "index.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &idx); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if len(idx.Manifests) != 1 {
			t.Fatalf("%s: %d entries", dir, len(idx.Manifests))
		}
	}
}

func TestCacheExport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	mustRun(t, nil, "--cache", dir, "cache", "import", fixtureTar(t))
	outDir := t.TempDir()
	for _, tc := range []struct {
		format, platform, check string
	}{
		{"oci", "linux/arm64", "index.json"},
		{"docker", "linux/amd64", "manifest.json"},
		{"filesystem", "linux/s390x", "bin/busybox"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			path := filepath.Join(outDir, tc.format+".tar")
			// An existing, longer file is replaced whole.
			if err := os.WriteFile(path, bytes.Repeat([]byte{'x'}, 8<<20), 0o600); err != nil {
				t.Fatal(err)
			}
			mustRun(t, nil, "--cache", dir, "cache", "export", "--format", tc.format, "--platform", tc.platform,
				"--outfile", path, "busybox:fixture")
			list, err := exec.Command("tar", "-tf", path).CombinedOutput()
			if err != nil || !strings.Contains(string(list), tc.check) {
				t.Fatalf("tar -tf %s: %v\n%s", path, err, list)
			}
			stdout := mustRun(t, nil, "--cache", dir, "cache", "export", "--format", tc.format, "--platform", tc.platform,
				"--outfile", "-", "busybox:fixture")
			file, _ := os.ReadFile(path)
			if stdout != string(file) {
				t.Fatalf("stdout (%d bytes) and file (%d bytes) differ", len(stdout), len(file))
			}
			if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
				t.Errorf("mode %v", fi.Mode().Perm())
			}
		})
	}
	entries, _ := os.ReadDir(outDir)
	if len(entries) != 3 {
		t.Fatalf("temporary files left in %s: %v", outDir, entries)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"busybox:fixture"}, "--outfile is required"},
		{[]string{"--outfile", "-", "--format", "tgz", "busybox:fixture"}, "unknown --format"},
		{[]string{"--outfile", "-", "--platform", "amd64", "busybox:fixture"}, "bad platform"},
		{[]string{"--outfile", "-", "--platform", "linux/riscv64", "busybox:fixture"}, "no image for platform linux/riscv64"},
		{[]string{"--outfile", filepath.Join(outDir, "x.tar"), "nothere"}, "not found"},
	} {
		_, err := run(t, nil, append([]string{"--cache", dir, "cache", "export"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("export %v: %v, want %q", tc.args, err, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(outDir, "x.tar")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("failed export left an output file")
	}
}

// --name is written expanded, as linuxkit's ReferenceExpand writes it and with no tag added: the OCI layout's
// index.json names the image by org.opencontainers.image.ref.name (and io.containerd.image.name, which an import
// reads), the docker archive by RepoTags (where a name without a tag gets :latest, as docker load needs one).
func TestCacheExportName(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	mustRun(t, nil, "--cache", dir, "cache", "import", fixtureTar(t))
	for _, tc := range []struct{ name, wantOCI, wantDocker string }{
		{"foo/bar:baz", "docker.io/foo/bar:baz", "docker.io/foo/bar:baz"},
		{"bar:1", "docker.io/library/bar:1", "docker.io/library/bar:1"},
		{"foo/bar", "docker.io/foo/bar", "docker.io/foo/bar:latest"},
		{"ghcr.io/me/bar:2", "ghcr.io/me/bar:2", "ghcr.io/me/bar:2"},
		{"localhost:5000/bar:3", "localhost:5000/bar:3", "localhost:5000/bar:3"},
		{"docker.io/foo/bar:baz", "docker.io/foo/bar:baz", "docker.io/foo/bar:baz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oci := mustRun(t, nil, "--cache", dir, "cache", "export", "--format", "oci", "--outfile", "-", "--name", tc.name, "busybox:fixture")
			var index struct {
				Manifests []struct{ Annotations map[string]string }
			}
			if err := json.Unmarshal([]byte(tarMember(t, oci, "index.json")), &index); err != nil || len(index.Manifests) != 1 {
				t.Fatalf("index.json: %v %+v", err, index)
			}
			for _, key := range []string{"org.opencontainers.image.ref.name", "io.containerd.image.name"} {
				if got := index.Manifests[0].Annotations[key]; got != tc.wantOCI {
					t.Errorf("%s = %q, want %q", key, got, tc.wantOCI)
				}
			}
			docker := mustRun(t, nil, "--cache", dir, "cache", "export", "--format", "docker", "--outfile", "-", "--name", tc.name, "busybox:fixture")
			var manifest []struct{ RepoTags []string }
			if err := json.Unmarshal([]byte(tarMember(t, docker, "manifest.json")), &manifest); err != nil || len(manifest) != 1 {
				t.Fatalf("manifest.json: %v %+v", err, manifest)
			}
			if got := manifest[0].RepoTags; len(got) != 1 || got[0] != tc.wantDocker {
				t.Errorf("RepoTags = %q, want [%q]", got, tc.wantDocker)
			}
		})
	}
	// The OCI export imports under the expanded name.
	other := filepath.Join(t.TempDir(), "other")
	oci := mustRun(t, nil, "--cache", dir, "cache", "export", "--outfile", "-", "--name", "foo/bar:baz", "busybox:fixture")
	mustRun(t, []byte(oci), "--cache", other, "cache", "import", "-")
	if got := mustRun(t, nil, "--cache", other, "cache", "ls"); !strings.Contains(got, "docker.io/foo/bar:baz\t") {
		t.Errorf("imported export: %q", got)
	}
	for _, bad := range []string{"Foo/Bar:x", "foo/bar:", "a b"} {
		out := filepath.Join(t.TempDir(), "x.tar")
		_, err := run(t, nil, "--cache", dir, "cache", "export", "--outfile", out, "--name", bad, "busybox:fixture")
		if err == nil || !strings.Contains(err.Error(), "--name \""+bad+"\" is not a valid image reference") {
			t.Errorf("--name %q: %v", bad, err)
		}
		if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("--name %q: an output file was written", bad)
		}
	}
}

// tarMember is the content of one member of a tar held in a string.
func tarMember(t *testing.T, tarData, name string) string {
	t.Helper()
	tr := tar.NewReader(strings.NewReader(tarData))
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in the tar: %v", name, err)
		}
		if h.Name == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
}

func TestCacheImportNotATar(t *testing.T) {
	dir := t.TempDir()
	// import of something that is not a tar writes nothing.
	_, err := run(t, []byte("not a tar"), "--cache", dir, "cache", "import", "-")
	if err == nil || !strings.Contains(err.Error(), "not a tar") {
		t.Fatalf("import non-tar: %v", err)
	}
	n := 0
	// The callback never fails (a missing blobs dir counts as none written), so neither does the walk.
	_ = filepath.WalkDir(filepath.Join(dir, "blobs"), func(_ string, d fs.DirEntry, _ error) error {
		if d != nil && !d.IsDir() {
			n++
		}
		return nil
	})
	if n != 0 {
		t.Fatalf("%d blobs written", n)
	}
}
