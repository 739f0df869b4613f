package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// rootlessUser is an unprivileged account made for one test (and removed after it): a home of its own, a copy of
// lkpkg it can execute, the bundled base image as a tar it can read, and a package repository it owns.
type rootlessUser struct {
	t        testing.TB
	name     string
	uid, gid int
	home     string
	bin      string // lkpkg, executable by the user
	fixture  string // examples/busybox-oci as a tar
	repo     string
}

// newRootlessUser creates the account; subids gives it 65536 subordinate uids and gids, as `useradd` does on
// a current Debian. Creating accounts needs root, which CI has.
func newRootlessUser(t *testing.T, subids bool) *rootlessUser {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("creating a test user needs root")
	}
	suffix := make([]byte, 4)
	if _, err := io.ReadFull(rand.Reader, suffix); err != nil {
		t.Fatal(err)
	}
	u := &rootlessUser{t: t, name: "lkpkgtest-" + hex.EncodeToString(suffix)}
	// No automatic ranges: the test decides, and a range of its own cannot collide with other users' ranges.
	runAsRoot(t, "useradd", "-m", "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", u.name)
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", "-r", "-f", u.name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v %s", u.name, err, out)
		}
	})
	if subids {
		ensureSubidFiles(t)
		first := 400000000 + int(suffix[0])<<16 // far above the ranges useradd hands out
		ids := fmt.Sprintf("%d-%d", first, first+65535)
		runAsRoot(t, "usermod", "--add-subuids", ids, "--add-subgids", ids, u.name)
	}
	acct, err := user.Lookup(u.name)
	if err != nil {
		t.Fatal(err)
	}
	u.uid, _ = strconv.Atoi(acct.Uid)
	u.gid, _ = strconv.Atoi(acct.Gid)
	u.home = acct.HomeDir
	u.installTools()
	u.repo = filepath.Join(u.home, "repo")
	u.do("git", "init", "-q", u.repo)
	return u
}

// ensureSubidFiles creates empty /etc/subuid and /etc/subgid where there are none yet (a machine on which no
// account got subordinate ids): usermod refuses to add ranges to a missing file.
func ensureSubidFiles(t *testing.T) {
	t.Helper()
	for _, p := range []string{"/etc/subuid", "/etc/subgid"} {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_RDONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
}

// installTools puts lkpkg and the base image into a directory every user can read, as an installed lkpkg is.
func (u *rootlessUser) installTools() {
	dir, err := os.MkdirTemp("", "lkpkg-rootless-bin")
	if err != nil {
		u.t.Fatal(err)
	}
	u.t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		u.t.Fatal(err)
	}
	u.bin, u.fixture = filepath.Join(dir, "lkpkg"), filepath.Join(dir, "busybox.tar")
	runAsRoot(u.t, "cp", lkpkgBin, u.bin)
	runAsRoot(u.t, "chmod", "0755", u.bin)
	runAsRoot(u.t, "tar", "-C", "../examples/busybox-oci", "-cf", u.fixture, ".")
	runAsRoot(u.t, "chmod", "0644", u.fixture)
}

func runAsRoot(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// command is name run as the user in its repository, with the environment a login would give it.
func (u *rootlessUser) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = u.repo
	cmd.Env = []string{"HOME=" + u.home, "USER=" + u.name, "LOGNAME=" + u.name, "PATH=/usr/local/bin:/usr/bin:/bin",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u.uid), Gid: uint32(u.gid), Groups: []uint32{}}}
	return cmd
}

// do runs a command as the user and fails the test unless it succeeds.
func (u *rootlessUser) do(name string, args ...string) string {
	u.t.Helper()
	cmd := u.command(name, args...)
	if name == "git" && len(args) > 0 && args[0] == "init" {
		cmd.Dir = u.home
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		u.t.Fatalf("%s %v as %s: %v\n%s", name, args, u.name, err, out)
	}
	return string(out)
}

// lkpkg runs the user's copy of lkpkg as the user.
func (u *rootlessUser) lkpkg(args ...string) result {
	u.t.Helper()
	cmd := u.command(u.bin, args...)
	return runResult(u.t, cmd, fmt.Sprintf("lkpkg %v as %s", args, u.name))
}

func (u *rootlessUser) mustLkpkg(args ...string) result {
	u.t.Helper()
	r := u.lkpkg(args...)
	if r.code != 0 {
		u.t.Fatalf("lkpkg %v as %s: exit %d\n%s", args, u.name, r.code, tail(r.stderr, 40))
	}
	return r
}

// pkg writes a package into the user's repository and commits it.
func (u *rootlessUser) pkg(dir, buildYML, dockerfile string) {
	u.t.Helper()
	u.do("mkdir", "-p", filepath.Join(u.repo, dir))
	for name, content := range map[string]string{"build.yml": buildYML, "Dockerfile": dockerfile} {
		path := filepath.Join(u.repo, dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			u.t.Fatal(err)
		}
		if err := os.Chown(path, u.uid, u.gid); err != nil {
			u.t.Fatal(err)
		}
	}
	u.do("git", "add", "-A")
	u.do("git", "commit", "-qm", "add "+dir)
}

// cacheDir is linuxkit's default cache of the user, where its builds go.
func (u *rootlessUser) cacheDir() string { return filepath.Join(u.home, ".linuxkit", "cache") }

// otherArch is an architecture QEMU runs on this host, for a foreign-arch RUN step.
func otherArch() (arch, uname string) {
	if runtime.GOARCH == "arm64" {
		return "amd64", "x86_64"
	}
	return "arm64", "aarch64"
}

var unameOf = map[string]string{"amd64": "x86_64", "arm64": "aarch64", "s390x": "s390x", "riscv64": "riscv64"}

func TestRootlessBuild(t *testing.T) {
	u := newRootlessUser(t, true)
	foreign, foreignUname := otherArch()
	u.pkg("pkg/who", fmt.Sprintf("image: who\narches: [%s, %s]\n", runtime.GOARCH, foreign),
		"FROM busybox:fixture\nRUN id -u > /uid && uname -m > /arch && touch /owned && chown 1234:5678 /owned\n")
	u.mustLkpkg("cache", "import", u.fixture)
	marker := filepath.Join(t.TempDir(), "marker")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	r := u.mustLkpkg("pkg", "build", "--progress", "plain", "pkg/who") // default cache and state dir
	tag := "docker.io/" + strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(tag, "docker.io/linuxkit/who:") {
		t.Fatalf("stdout %q, want the tag", r.stdout)
	}
	for arch, uname := range map[string]string{runtime.GOARCH: unameOf[runtime.GOARCH], foreign: foreignUname} {
		fs := exportFilesystem(t, u.cacheDir(), tag, arch)
		if got := tarFile(t, fs, "uid"); got != "0\n" {
			t.Errorf("%s: id -u in the RUN step = %q, want 0 (root of the user namespace)", arch, got)
		}
		if got := tarFile(t, fs, "arch"); got != uname+"\n" {
			t.Errorf("%s: uname -m = %q, want %s", arch, got, uname)
		}
		// A file given to another user keeps its owner in the image: the subordinate ids at work.
		out, err := exec.Command("tar", "-tvf", fs, "--numeric-owner", "owned").CombinedOutput()
		if err != nil || !strings.Contains(string(out), " 1234/5678 ") {
			t.Errorf("%s: /owned in the image: %s %v, want owner 1234/5678", arch, out, err)
		}
	}
	// State and cache are the user's defaults, in its home, and owned by it.
	for _, p := range []string{filepath.Join(u.cacheDir(), "index.json"), filepath.Join(u.home, ".local/share/lkpkg/lkpkg.lock")} {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil || int(st.Uid) != u.uid {
			t.Errorf("%s: %v, owner %d; want a file of uid %d", p, err, st.Uid, u.uid)
		}
	}
	// Linux 5.11 and later mount overlayfs in a user namespace; older kernels get the native snapshotter.
	if kernelAtLeast(t, 5, 11) {
		if _, err := os.Stat(filepath.Join(u.home, ".local/share/lkpkg/runc-overlayfs")); err != nil {
			t.Errorf("the rootless build did not use overlayfs on a kernel that allows it: %v", err)
		}
	}
	u.assertWroteOnlyHomeAndTmp(marker)
}

func kernelAtLeast(t *testing.T, major, minor int) bool {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	var maj, mnr int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(uts.Release[:]), "%d.%d", &maj, &mnr); err != nil {
		t.Fatalf("kernel release %q: %v", uts.Release, err)
	}
	return maj > major || (maj == major && mnr >= minor)
}

// exportFilesystem writes the image of ref for arch in cache as a filesystem tar and returns its path.
func exportFilesystem(t *testing.T, cache, ref, arch string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "fs.tar")
	mustLkpkg(t, "", nil, "--cache", cache, "cache", "export", "--platform", "linux/"+arch, "--format", "filesystem",
		"--outfile", out, ref)
	return out
}

func tarFile(t *testing.T, tarPath, name string) string {
	t.Helper()
	out, err := exec.Command("tar", "-xOf", tarPath, name).CombinedOutput()
	if err != nil {
		t.Fatalf("%s has no %s: %v %s", tarPath, name, err, out)
	}
	return string(out)
}

// assertWroteOnlyHomeAndTmp fails if, since marker was written, a file owned by the user or by one of its
// subordinate ids appeared outside its home and the temp directories.
func (u *rootlessUser) assertWroteOnlyHomeAndTmp(marker string) {
	u.t.Helper()
	first, last := 400000000, 400000000+256<<16 // every range newRootlessUser hands out
	args := []string{"/", "/run", "/dev/shm", "/var/tmp", "-xdev",
		"(", "-path", "/proc", "-o", "-path", "/sys", "-o", "-path", u.home, "-o", "-path", os.TempDir(), ")", "-prune",
		"-o", "-newer", marker, "(", "-uid", strconv.Itoa(u.uid), "-o", "(", "-uid", "+" + strconv.Itoa(first-1), "-uid", "-" + strconv.Itoa(last), ")", ")", "-print"}
	out, _ := exec.Command("find", args...).Output() // unreadable corners give errors, not matches
	if found := strings.TrimSpace(string(out)); found != "" {
		u.t.Errorf("the rootless build wrote outside %s and %s:\n%s", u.home, os.TempDir(), found)
	}
}

func TestRootlessNetworkPolicy(t *testing.T) {
	port := loopbackListener(t)
	u := newRootlessUser(t, true)
	dockerfile := fmt.Sprintf("FROM busybox:fixture\nRUN wget -q -O /reached http://127.0.0.1:%d/ && cat /reached\n", port)
	u.pkg("pkg/off", "image: off\narches: ["+runtime.GOARCH+"]\n", dockerfile)
	u.pkg("pkg/on", "image: on\narches: ["+runtime.GOARCH+"]\nnetwork: true\n", dockerfile)
	u.mustLkpkg("cache", "import", u.fixture)

	if r := u.lkpkg("pkg", "build", "--progress", "plain", "pkg/off"); r.code == 0 {
		t.Fatalf("rootless network: false reached a host listener:\n%s", tail(r.stderr, 20))
	}
	// network: true is the host's network: the user namespace has no network namespace of its own.
	r := u.mustLkpkg("pkg", "build", "--progress", "plain", "pkg/on")
	if !strings.Contains(r.stderr, "reach") {
		t.Errorf("rootless network: true build did not print what it fetched:\n%s", tail(r.stderr, 20))
	}
}

// TestRootlessWithoutSubordinateIDs: a user without subordinate ids (nor, here, newuidmap's ids to give) builds
// with a single id, told so once, and a step giving a file to another id fails saying how to add ids.
func TestRootlessWithoutSubordinateIDs(t *testing.T) {
	u := newRootlessUser(t, false)
	u.pkg("pkg/a", "image: a\narches: ["+runtime.GOARCH+"]\n", "FROM busybox:fixture\nRUN id -u > /uid\n")
	u.pkg("pkg/chown", "image: chown\narches: ["+runtime.GOARCH+"]\n", "FROM busybox:fixture\nRUN touch /f && chown 1000 /f\n")
	// Commands that run no container work as the user, without a namespace.
	u.mustLkpkg("cache", "import", u.fixture)
	u.mustLkpkg("pkg", "show-tag", "pkg/a")

	r := u.mustLkpkg("pkg", "build", "pkg/a")
	want := fmt.Sprintf(`lkpkg: building with a single id: user %s has no subordinate ids in /etc/subuid and /etc/subgid`, u.name)
	if !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "usermod --add-subuids") ||
		!strings.Contains(r.stderr, "RUN steps run in a user namespace with a single id") {
		t.Errorf("stderr:\n%s\nwant a note containing %q and the sandbox line", r.stderr, want)
	}
	r = u.lkpkg("pkg", "build", "pkg/chown")
	if r.code == 0 || !strings.Contains(r.stderr, "this build has a single id") || !strings.Contains(r.stderr, "/etc/subuid") {
		t.Fatalf("chown 1000 with a single id: exit %d, stderr:\n%s", r.code, tail(r.stderr, 10))
	}
}
