package e2e

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// podmanStore is a containers-storage store in a temporary directory, and podman and skopeo pointed at it.
type podmanStore struct {
	t                   *testing.T
	root, runroot, conf string
	tmp                 string
}

func newPodmanStore(t *testing.T) *podmanStore {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("writing into containers-storage outside a user namespace needs root")
	}
	for _, tool := range []string{"podman", "skopeo"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (.ci/deps installs it)", tool)
		}
	}
	dir := t.TempDir()
	s := &podmanStore{t: t, root: filepath.Join(dir, "root"), runroot: filepath.Join(dir, "run"),
		conf: filepath.Join(dir, "containers.conf"), tmp: filepath.Join(dir, "tmp")}
	// This VM refuses to raise RLIMIT_NPROC/NOFILE, which podman's default ulimits ask for; no systemd or journald;
	// and crun (Debian's first choice for podman) refuses its hybrid cgroup hierarchy, so podman uses runc (lkpkg
	// itself needs neither).
	conf := "[containers]\ndefault_ulimits = []\n[engine]\nruntime = \"runc\"\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"none\"\n"
	if err := os.WriteFile(s.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// skopeo 1.9 and podman 4.3 leave the overlay driver's private bind mount of <root>/overlay behind.
	t.Cleanup(func() { _ = unix.Unmount(filepath.Join(s.root, "overlay"), unix.MNT_DETACH) }) // often not mounted
	return s
}

func (s *podmanStore) flags() []string {
	return []string{"--store", "--store-root", s.root, "--store-runroot", s.runroot}
}

func (s *podmanStore) globalArgs(args ...string) []string {
	return append([]string{"--root", s.root, "--runroot", s.runroot, "--storage-driver", "overlay", "--tmpdir", s.tmp,
		"--cgroup-manager", "cgroupfs", "--events-backend", "none"}, args...)
}

func (s *podmanStore) podman(args ...string) string {
	s.t.Helper()
	cmd := exec.Command("podman", s.globalArgs(args...)...)
	cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+s.conf)
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("podman %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// ref is the skopeo reference of name in the store.
func (s *podmanStore) ref(name string) string {
	return "containers-storage:[overlay@" + s.root + "+" + s.runroot + "]" + name
}

func skopeoRaw(t *testing.T, args ...string) []byte {
	t.Helper()
	out, err := exec.Command("skopeo", append([]string{"inspect", "--raw"}, args...)...).Output()
	if err != nil {
		msg := ""
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			msg = string(ee.Stderr)
		}
		t.Fatalf("skopeo inspect --raw %v: %v %s", args, err, msg)
	}
	return out
}

func sha(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }

func TestBuildStore(t *testing.T) {
	e := newBuildEnv(t)
	s := newPodmanStore(t)
	e.pkg("pkg/stored", "image: stored\narches: [amd64, arm64]\n",
		"FROM busybox:fixture\nRUN uname -m > /arch\nCOPY file /file\n", "file", "from the cache\n")
	r := e.mustBuild(nil, append(s.flags(), "pkg/stored")...)
	tag := e.tag("pkg/stored")
	if !strings.Contains(r.stderr, "Stored "+tag+"-amd64") {
		t.Errorf("no store message in:\n%s", tail(r.stderr, 10))
	}

	names := strings.Fields(s.podman("image", "ls", "--format", "{{.Repository}}:{{.Tag}}"))
	want := []string{tag + "-amd64", tag + "-arm64"}
	if runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64" {
		want = append(want, tag) // the host's architecture also under the plain tag
	}
	for _, n := range want {
		if !slices.Contains(names, n) {
			t.Errorf("podman image ls lists %v, not %s", names, n)
		}
	}
	if runtime.GOARCH == "amd64" {
		if got := s.podman("run", "--rm", "--network", "none", tag+"-amd64", "cat", "/file"); got != "from the cache\n" {
			t.Errorf("podman run cat /file: %q", got)
		}
		if got := s.podman("run", "--rm", "--network", "none", tag, "cat", "/arch"); got != "x86_64\n" {
			t.Errorf("podman run %s cat /arch: %q, want the host's", tag, got)
		}
	}

	for _, arch := range []string{"amd64", "arm64"} {
		name := tag + "-" + arch
		cacheManifest := skopeoRaw(t, e.ociRef(name))
		storeManifest := skopeoRaw(t, s.ref(name))
		if sha(storeManifest) != sha(cacheManifest) {
			t.Errorf("%s: manifest digest in the store %s, in the cache %s", name, sha(storeManifest), sha(cacheManifest))
		}
		var info struct{ Digest, Architecture string }
		e.skopeoJSON(&info, s.ref(name))
		if info.Digest != sha(cacheManifest) || info.Architecture != arch {
			t.Errorf("%s: skopeo inspect of the store says digest %s arch %s; the cache's manifest is %s",
				name, info.Digest, info.Architecture, sha(cacheManifest))
		}
		cacheConfig := skopeoRaw(t, "--config", e.ociRef(name))
		storeConfig := skopeoRaw(t, "--config", s.ref(name))
		if sha(storeConfig) != sha(cacheConfig) {
			t.Errorf("%s: config in the store %s, in the cache %s", name, sha(storeConfig), sha(cacheConfig))
		}
	}

	// A cached package goes into a store too, unbuilt.
	s2 := newPodmanStore(t)
	r = e.mustBuild(nil, append(s2.flags(), "pkg/stored")...)
	if !strings.Contains(r.stderr, "is in the cache; not building") || !strings.Contains(r.stderr, "Stored "+tag+"-arm64") {
		t.Errorf("cached package not stored:\n%s", tail(r.stderr, 10))
	}
	if got := sha(skopeoRaw(t, s2.ref(tag+"-arm64"))); got != sha(skopeoRaw(t, e.ociRef(tag+"-arm64"))) {
		t.Errorf("the cached package's manifest changed on the way into the store: %s", got)
	}
}

func TestBuildStoreNotWritable(t *testing.T) {
	e := newBuildEnv(t)
	e.pkg("pkg/nostore", "image: nostore\narches: [amd64]\n", "FROM busybox:fixture\nRUN echo hi > /hi\n")
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// A file where the store's directory should be: root ignores modes, but not that.
	r := e.build(nil, "--store", "--store-root", filepath.Join(file, "root"), "--store-runroot", filepath.Join(dir, "run"), "pkg/nostore")
	if r.code == 0 || !strings.Contains(r.stderr, "store path not writable") || !strings.Contains(r.stderr, file) {
		t.Fatalf("exit %d, want a \"store path not writable\" error naming %s:\n%s", r.code, file, r.stderr)
	}
	if strings.Contains(r.stderr, "Building") {
		t.Errorf("it built before refusing the store:\n%s", r.stderr)
	}
	tag := e.tag("pkg/nostore")
	if ls := mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "ls"); strings.Contains(ls, strings.TrimPrefix(tag, "docker.io/")) {
		t.Errorf("the refused build wrote into the cache:\n%s", ls)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the refused build wrote next to the store: %v", entries)
	}

	if r := e.build(nil, "--store-root", dir, "pkg/nostore"); r.code == 0 || !strings.Contains(r.stderr, "need --store") {
		t.Errorf("--store-root without --store: exit %d\n%s", r.code, r.stderr)
	}
}
