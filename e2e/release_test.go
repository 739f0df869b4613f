package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The release tests check what `make release` built; `make test-release` runs them with LKPKG_RELEASE_DIR set to
// its output directory, LKPKG_RELEASE_VERSION and LKPKG_RELEASE_COMMIT to what it stamps, and LKPKG_BIN to the host
// architecture's release binary (so every other e2e helper drives the static binary). `make test` does not cross-build, so they skip there.
func releaseDir(t *testing.T) string {
	dir := os.Getenv("LKPKG_RELEASE_DIR")
	if dir == "" {
		t.Skip("runs under make test-release, after make release (LKPKG_RELEASE_DIR)")
	}
	return dir
}

// file(1)'s name of each release architecture's machine.
var releaseMachines = map[string]string{"amd64": "x86-64", "arm64": "ARM aarch64", "s390x": "IBM S/390"}

// Each binary is a static executable of its architecture, its sum is in SHA256SUMS, and it runs (the foreign ones
// under QEMU user emulation) and says what it is.
func TestReleaseBinaries(t *testing.T) {
	dir := releaseDir(t)
	sums := exec.Command("sha256sum", "--check", "--strict", "SHA256SUMS")
	sums.Dir = dir
	if out, err := sums.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum --check: %v\n%s", err, out)
	} else if strings.Count(string(out), ": OK") != len(releaseMachines) {
		t.Errorf("SHA256SUMS covers other than the %d release binaries:\n%s", len(releaseMachines), out)
	}
	for arch, machine := range releaseMachines {
		t.Run(arch, func(t *testing.T) {
			bin := filepath.Join(dir, "lkpkg-linux-"+arch)
			out, err := exec.Command("file", "--brief", bin).Output()
			if err != nil {
				t.Fatalf("file %s: %v", bin, err)
			}
			for _, want := range []string{"ELF 64-bit", machine, "statically linked"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("file says %q; want %q in it", out, want)
				}
			}
			version, err := exec.Command(bin, "version").CombinedOutput()
			if err != nil {
				t.Fatalf("%s version: %v\n%s", bin, err, version)
			}
			t.Logf("%s", version)
			// make test-release passes the version and commit make release stamped (when the checkout is unchanged).
			wants := []string{"arch: linux/" + arch + "\n", "static: yes\n"}
			for prefix, env := range map[string]string{"lkpkg version ": "LKPKG_RELEASE_VERSION", "commit: ": "LKPKG_RELEASE_COMMIT"} {
				if v := os.Getenv(env); v != "" {
					wants = append(wants, prefix+v+"\n")
				}
			}
			for _, want := range wants {
				if !strings.Contains(string(version), want) {
					t.Errorf("lkpkg version lacks %q:\n%s", want, version)
				}
			}
		})
	}
}

// withBinary makes the e2e helpers drive bin until the test ends.
func withBinary(t *testing.T, bin string) {
	saved := lkpkgBin
	lkpkgBin = bin
	t.Cleanup(func() { lkpkgBin = saved })
}

// A foreign architecture's binary, run under QEMU user emulation (which refuses to make a process a subreaper),
// shows tags, imports and lists the cache and builds a package whose steps start no container; a RUN step fails
// with the message that says to run the host's own binary.
func TestReleaseForeignBinaryUnderEmulation(t *testing.T) {
	dir := releaseDir(t)
	arch := "arm64"
	if runtime.GOARCH == "arm64" {
		arch = "s390x"
	}
	withBinary(t, filepath.Join(dir, "lkpkg-linux-"+arch))
	e := newBuildEnv(t) // imports the busybox fixture with the foreign binary
	e.pkg("pkg/copy", "image: copy\narches: [amd64, arm64, s390x]\n", "FROM busybox:fixture\nCOPY hello /hello\n",
		"hello", "hello from a RUN-less build\n")
	e.pkg("pkg/run", "image: run\narches: ["+arch+"]\n", "FROM busybox:fixture\nRUN echo ran > /ran\n")
	ref := e.tag("pkg/copy")
	if !strings.Contains(ref, "/copy:") {
		t.Fatalf("show-tag printed %q", ref)
	}
	e.mustBuild(nil, "pkg/copy")
	for _, a := range []string{"amd64", "arm64", "s390x"} {
		if got := e.file(ref, a, "hello"); got != "hello from a RUN-less build\n" {
			t.Errorf("%s image holds %q", a, got)
		}
	}
	if ls := mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "ls"); !strings.Contains(ls, ref[strings.Index(ref, "/")+1:]) {
		t.Errorf("cache ls lacks %s:\n%s", ref, ls)
	}
	r := e.build(nil, "pkg/run")
	if r.code == 0 {
		t.Fatal("a RUN step ran under QEMU user emulation")
	}
	for _, want := range []string{"PR_SET_CHILD_SUBREAPER", "QEMU user emulation"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the RUN step's error lacks %q:\n%s", want, tail(r.stderr, 10))
		}
	}
}

// The host architecture's static binary builds the hello example for all its architectures, RUN steps included
// (the foreign ones emulated per step).
func TestReleaseStaticBuildsExamples(t *testing.T) {
	releaseDir(t)
	e := newBuildEnv(t)
	var files [2]string
	for i, name := range []string{"build.yml", "Dockerfile"} {
		data, err := os.ReadFile(filepath.Join("../examples/hello", name))
		if err != nil {
			t.Fatal(err)
		}
		files[i] = string(data)
	}
	e.pkg("pkg/hello", files[0], files[1])
	e.mustBuild(nil, "pkg/hello")
	ref := e.tag("pkg/hello")
	for _, arch := range []string{"amd64", "arm64", "s390x"} {
		if got := e.file(ref, arch, "etc/hello"); got != "hello from "+unameOf[arch]+"\n" {
			t.Errorf("%s image: /etc/hello holds %q", arch, got)
		}
	}
}
