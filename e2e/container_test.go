package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// podmanConf is the containers.conf every podman of the tests uses: this VM refuses to raise RLIMIT_NPROC/NOFILE,
// which podman's default ulimits ask for; it has no systemd or journald; and crun (Debian's first choice for
// podman) refuses its hybrid cgroup hierarchy, so podman uses runc.
const podmanConf = "[containers]\ndefault_ulimits = []\n[engine]\nruntime = \"runc\"\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"none\"\n"

// ciContainer runs commands in podman containers with podman's default security — no --privileged, no added
// capability or device, podman's seccomp profile, masked /proc paths — as a CI job's container is. Its root file
// system is the bundled busybox with lkpkg, git and their libraries added; the package repository is bound at
// /repo and the linuxkit cache (the buildEnv's, holding busybox:fixture) at /cache.
type ciContainer struct {
	*buildEnv
	rootfs, conf, tmp string
}

func newCIContainer(t *testing.T) *ciContainer {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("podman run with its default (root) configuration needs root")
	}
	for _, tool := range []string{"podman", "runc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (.ci/deps installs it)", tool)
		}
	}
	// podman refuses a runroot path longer than 50 characters, which t.TempDir's often are.
	dir, err := os.MkdirTemp("", "lkpkg-ci")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	c := &ciContainer{buildEnv: newBuildEnv(t), rootfs: filepath.Join(dir, "rootfs"), conf: filepath.Join(dir, "containers.conf"),
		tmp: dir}
	writeFile(t, c.conf, podmanConf)
	unpackFixture(t, c.rootfs)
	for _, tool := range []string{lkpkgBin, mustLookPath(t, "git")} {
		copyWithLibraries(t, tool, c.rootfs)
	}
	if err := os.Rename(filepath.Join(c.rootfs, lkpkgBin), filepath.Join(c.rootfs, "usr/bin/lkpkg")); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"tmp", "var/tmp"} {
		if err := os.MkdirAll(filepath.Join(c.rootfs, d), 0o1777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(c.rootfs, d), 0o1777); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// run runs script with sh in a new container; podmanArgs go before the root file system.
func (c *ciContainer) run(podmanArgs []string, script string) result {
	c.t.Helper()
	args := append([]string{"--root", filepath.Join(c.tmp, "root"), "--runroot", filepath.Join(c.tmp, "run"),
		"--tmpdir", filepath.Join(c.tmp, "tmp"), "run", "--rm", "-v", c.repo.Dir + ":/repo", "-v", c.cache + ":/cache",
		"-w", "/repo", "-e", "HOME=/tmp",
		// The repository belongs to root on the host: git refuses another owner's repository unless told it is safe.
		"-e", "GIT_CONFIG_COUNT=1", "-e", "GIT_CONFIG_KEY_0=safe.directory", "-e", "GIT_CONFIG_VALUE_0=*"},
		podmanArgs...)
	args = append(args, "--rootfs", c.rootfs, "sh", "-c", script)
	cmd := exec.Command("podman", args...)
	cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+c.conf)
	return runResult(c.t, cmd, fmt.Sprintf("podman %v", args))
}

// unpackFixture extracts the bundled busybox image for this host's architecture into dir.
func unpackFixture(t *testing.T, dir string) {
	t.Helper()
	layout := "../examples/busybox-oci"
	readJSON := func(digest string, v any) {
		data, err := os.ReadFile(filepath.Join(layout, "blobs", strings.Replace(digest, ":", "/", 1)))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatal(err)
		}
	}
	type desc struct {
		Digest   string
		Platform struct{ Architecture string }
	}
	var top, index struct{ Manifests []desc }
	var manifest struct{ Layers []desc }
	data, err := os.ReadFile(filepath.Join(layout, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &top); err != nil {
		t.Fatal(err)
	}
	readJSON(top.Manifests[0].Digest, &index)
	for _, m := range index.Manifests {
		if m.Platform.Architecture == runtime.GOARCH {
			readJSON(m.Digest, &manifest)
		}
	}
	if len(manifest.Layers) == 0 {
		t.Fatalf("busybox fixture has no %s image", runtime.GOARCH)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range manifest.Layers {
		blob := filepath.Join(layout, "blobs", strings.Replace(l.Digest, ":", "/", 1))
		if out, err := exec.Command("tar", "-C", dir, "-xzf", blob).CombinedOutput(); err != nil {
			t.Fatalf("unpack %s: %v %s", blob, err, out)
		}
	}
}

// copyWithLibraries copies a dynamically linked program and the shared libraries ldd lists for it into rootfs,
// at the same paths.
func copyWithLibraries(t *testing.T, program, rootfs string) {
	t.Helper()
	out, err := exec.Command("ldd", program).CombinedOutput()
	files := []string{program}
	if err == nil {
		files = append(files, regexp.MustCompile(`/\S+`).FindAllString(string(out), -1)...)
	}
	for _, f := range files {
		dst := filepath.Join(rootfs, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("cp", "-L", f, dst).CombinedOutput(); err != nil {
			t.Fatalf("cp %s: %v %s", f, err, out)
		}
	}
}

func mustLookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed", name)
	}
	return p
}

// foreignArch is an architecture other than the host's that the bundled base image has.
func foreignArch() (arch, uname string) {
	if runtime.GOARCH == "arm64" {
		return "amd64", "x86_64"
	}
	return "arm64", "aarch64"
}

var hostUname = map[string]string{"amd64": "x86_64", "arm64": "aarch64", "s390x": "s390x"}[runtime.GOARCH]

// hostListener accepts connections on every address of the host and answers each with a line; it returns the
// port and the host's addresses (loopback first) a RUN step could try.
func hostListener(t *testing.T) (int, []string) {
	t.Helper()
	port := replyingListener(t, "tcp4", "0.0.0.0:0", "reached\n")
	addrs := []string{"127.0.0.1"}
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range ifaddrs {
		if ip, ok := a.(*net.IPNet); ok && ip.IP.To4() != nil && !ip.IP.IsLoopback() {
			addrs = append(addrs, ip.IP.String())
		}
	}
	return port, addrs
}

// probeScript is a RUN step writing, for each address, whether a connection to port there succeeded.
func probeScript(port int, addrs []string) string {
	return fmt.Sprintf("RUN for a in %s; do if nc -w 2 $a %d </dev/null | grep -q reached; then echo \"$a reached\"; "+
		"else echo \"$a blocked\"; fi; done > /probe\n", strings.Join(addrs, " "), port)
}

// TestUnprivilegedContainer builds in a podman container with podman's default security, as root and as uid
// 1000 without subordinate ids: a multi-stage package for the host's and a foreign architecture (through the
// host's QEMU, with no binfmt_misc in the container), into a valid cache; network: false reaches nothing of the
// host's (the container shares the host's network, so a leak would show) while network: true does.
func TestUnprivilegedContainer(t *testing.T) {
	c := newCIContainer(t)
	foreign, foreignUname := foreignArch()
	port, addrs := hostListener(t)
	c.pkg("pkg/multi", fmt.Sprintf("image: multi\narches: [%s, %s]\n", runtime.GOARCH, foreign),
		"FROM busybox:fixture AS build\nRUN mkdir -p /out && uname -m > /out/arch && id -u > /out/uid\n"+
			"FROM busybox:fixture\nCOPY --from=build /out/ /\nRUN cat /arch\n")
	c.pkg("pkg/nonet", "image: nonet\narches: ["+runtime.GOARCH+"]\n", "FROM busybox:fixture\n"+probeScript(port, addrs))
	c.pkg("pkg/net", "image: net\nnetwork: true\narches: ["+runtime.GOARCH+"]\n", "FROM busybox:fixture\n"+probeScript(port, addrs))
	if err := exec.Command("chmod", "-R", "a+rwX", c.repo.Dir).Run(); err != nil {
		t.Fatal(err)
	}

	for _, user := range []struct {
		name string
		args []string
		mode string // what the mode line says of the ids
	}{
		{"root", nil, "with this container's ids mapped to themselves"},
		{"uid 1000", []string{"--user", "1000:1000"}, "with a single id"},
	} {
		t.Run(user.name, func(t *testing.T) {
			// What the other user's build wrote stays writable to this one.
			if err := exec.Command("chmod", "-R", "a+rwX", c.cache).Run(); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"--network", "host"}, user.args...)
			r := c.run(args, "lkpkg --cache /cache pkg build --force --progress plain pkg/multi pkg/nonet pkg/net")
			if r.code != 0 {
				t.Fatalf("build in the container: exit %d\n%s", r.code, tail(r.stderr, 40))
			}
			for _, want := range []string{"lkpkg: sandbox: RUN steps run in a user namespace " + user.mode,
				"no process sandbox"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, tail(r.stderr, 60))
				}
			}
			checkOCILayout(t, c.cache)
			tag := c.tag("pkg/multi")
			for arch, uname := range map[string]string{runtime.GOARCH: hostUname, foreign: foreignUname} {
				if got := strings.TrimSpace(c.file(tag, arch, "arch")); got != uname {
					t.Errorf("%s: uname -m = %q, want %q", arch, got, uname)
				}
				if got := strings.TrimSpace(c.file(tag, arch, "uid")); got != "0" {
					t.Errorf("%s: RUN ran as uid %q, want root", arch, got)
				}
			}
			if got := c.file(c.tag("pkg/nonet"), runtime.GOARCH, "probe"); strings.Contains(got, "reached") {
				t.Errorf("network: false reached the host:\n%s", got)
			}
			if got := c.file(c.tag("pkg/net"), runtime.GOARCH, "probe"); !strings.Contains(got, "127.0.0.1 reached") {
				t.Errorf("network: true did not reach the host's loopback, so the test proves nothing:\n%s", got)
			}
		})
	}
	t.Run("uid 1000 base image of other owners", func(t *testing.T) {
		c.pkg("pkg/owned", "image: owned\narches: ["+runtime.GOARCH+"]\n",
			"FROM busybox:fixture\nRUN touch /owned && chown 1000:1000 /owned\n")
		c.mustBuild(nil, "pkg/owned") // as root on the host
		owned := strings.TrimPrefix(c.tag("pkg/owned"), "docker.io/")
		c.pkg("pkg/on-owned", "image: on-owned\narches: ["+runtime.GOARCH+"]\n",
			"FROM "+owned+"\nRUN stat -c %u:%g /owned > /owner\n")
		if err := exec.Command("chmod", "-R", "a+rwX", c.repo.Dir, c.cache).Run(); err != nil {
			t.Fatal(err)
		}
		r := c.run([]string{"--user", "1000:1000"}, "lkpkg --cache /cache pkg build --progress plain pkg/on-owned")
		if r.code != 0 {
			t.Fatalf("build on a base image with files of uid 1000: exit %d\n%s", r.code, tail(r.stderr, 30))
		}
		if got := strings.TrimSpace(c.file(c.tag("pkg/on-owned"), runtime.GOARCH, "owner")); got != "0:0" {
			t.Errorf("the base image's file of 1000:1000 is %s in the build, want squashed to 0:0", got)
		}
	})
	t.Run("uid 1000 chown", func(t *testing.T) {
		c.pkg("pkg/chown", "image: chown\narches: ["+runtime.GOARCH+"]\n", "FROM busybox:fixture\nRUN touch /f && chown 1000 /f\n")
		if err := exec.Command("chmod", "-R", "a+rwX", c.repo.Dir, c.cache).Run(); err != nil {
			t.Fatal(err)
		}
		r := c.run([]string{"--user", "1000:1000"}, "lkpkg --cache /cache pkg build pkg/chown")
		if r.code == 0 {
			t.Fatal("chown 1000 succeeded in a build with a single id")
		}
		for _, want := range []string{"this build has a single id", "chown 1000", "/etc/subuid", "usermod --add-subuids"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, tail(r.stderr, 20))
			}
		}
	})
}

// TestContainerWithoutSandbox runs lkpkg under Docker's default seccomp profile, which refuses user namespaces
// without CAP_SYS_ADMIN: the error names the missing privilege and the fix, not BuildKit's mount error.
func TestContainerWithoutSandbox(t *testing.T) {
	c := newCIContainer(t)
	c.pkg("pkg/a", "image: a\narches: ["+runtime.GOARCH+"]\n", "FROM busybox:fixture\nRUN true\n")
	profile, err := filepath.Abs("../vendor/github.com/moby/profiles/seccomp/default.json")
	if err != nil {
		t.Fatal(err)
	}
	r := c.run([]string{"--security-opt", "seccomp=" + profile}, "lkpkg --cache /cache pkg build pkg/a")
	if r.code == 0 {
		t.Fatal("the build succeeded under Docker's seccomp profile; this test needs a profile refusing user namespaces")
	}
	for _, want := range []string{"cannot make a sandbox for RUN steps", "lacks CAP_SYS_ADMIN",
		"--security-opt seccomp=unconfined --security-opt apparmor=unconfined", "seccompProfile: {type: Unconfined}"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "failed to mount") || strings.Contains(r.stderr, "#1 ") {
		t.Errorf("the error came from building, not before it:\n%s", r.stderr)
	}
}
