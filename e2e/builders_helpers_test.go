package e2e

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// The tests here reach a buildkitd through BuildKit's own connection helpers, as lkpkg registers them for
// --builders: podman-container:// (`podman exec -i <name> buildctl dial-stdio`) and ssh://
// (`ssh -l <user> -p <port> -- <host> buildctl [--addr unix://<path>] dial-stdio`).

// buildctlBinary is the buildctl built with buildkitdBinary, of the go.mod BuildKit version.
func buildctlBinary(t *testing.T) string {
	t.Helper()
	buildkitd, err := buildkitdBinary()
	if err != nil {
		t.Fatalf("buildkitd for the e2e tests: %v", err)
	}
	buildctl := filepath.Join(filepath.Dir(buildkitd), "buildctl")
	if _, err := os.Stat(buildctl); err != nil {
		t.Fatalf("buildctl is not next to %s (remove that directory to have it built again): %v", buildkitd, err)
	}
	return buildctl
}

// helperPackage writes a package for the host's architecture with a RUN step, builds it in-process with an
// engine state of its own and returns its tag and the digest of its manifest. The state is its own because a RUN
// result cached by another test keeps the file times of that test's build, which SOURCE_DATE_EPOCH (this
// repository's commit time) only clamps: the builder, building afresh, would differ from it.
func helperPackage(e *buildEnv) (tag, digest string) {
	e.t.Helper()
	e.state = e.t.TempDir()
	e.pkg("pkg/helper", "image: helper\narches: ["+runtime.GOARCH+"]\nbuildArgs:\n  - GREETING=through a helper\n",
		"FROM busybox:fixture\nARG GREETING\nRUN uname -m > /arch && echo \"$GREETING\" > /greeting\n")
	tag = e.tag("pkg/helper")
	e.mustBuild(nil, "pkg/helper")
	return tag, e.manifestDigest(tag, runtime.GOARCH)
}

// checkBuiltOn builds pkg/helper again on builder and checks that the builder built it (the progress says so)
// into the same manifest as the in-process build.
func checkBuiltOn(t *testing.T, e *buildEnv, env []string, builder, tag, inProcess string) {
	t.Helper()
	r := e.mustBuild(env, "--force", "--builders", "linux/"+runtime.GOARCH+"="+builder, "pkg/helper")
	if want := "on builder " + builder; !strings.Contains(r.stderr, want) {
		t.Errorf("the progress does not say %q:\n%s", want, tail(r.stderr, 30))
	}
	if got := e.manifestDigest(tag, runtime.GOARCH); got != inProcess {
		t.Errorf("built on %s: manifest %s, in-process %s", builder, got, inProcess)
	}
	if got := e.file(tag, runtime.GOARCH, "greeting"); got != "through a helper\n" {
		t.Errorf("the image built on %s has /greeting %q", builder, got)
	}
}

// checkUnreachable builds pkg/helper on a builder that cannot be reached: the run fails before building, naming
// the builder and saying why (want).
func checkUnreachable(t *testing.T, e *buildEnv, env []string, builder, want string) {
	t.Helper()
	r := e.build(env, "--force", "--builders", "linux/"+runtime.GOARCH+"="+builder, "pkg/helper")
	if r.code == 0 || !strings.Contains(r.stderr, "builder "+builder+" cannot be reached") ||
		!strings.Contains(r.stderr, want) || strings.Contains(r.stderr, "Building ") {
		t.Errorf("--builders %s: exit %d, want an error naming the builder and saying %q before building:\n%s",
			builder, r.code, want, tail(r.stderr, 10))
	}
}

// TestBuildersPodmanContainer builds through podman-container://: a podman container with buildctl in its PATH
// and the socket of a buildkitd of the go.mod version at buildctl's default address, as a buildkitd container
// has. The result equals the in-process build; a container that does not exist is an error naming the builder,
// before anything is built.
func TestBuildersPodmanContainer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("podman run with its default (root) configuration needs root")
	}
	for _, tool := range []string{"podman", "runc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (.ci/deps installs it)", tool)
		}
	}
	bk := startBuildkitd(t, nil)
	env := podmanEnv(t)
	name := fmt.Sprintf("lkpkg-e2e-buildkit-%d", os.Getpid())
	startBuildctlContainer(t, env, name, strings.TrimPrefix(bk.addr, "unix://"))

	e := newBuildEnv(t)
	tag, inProcess := helperPackage(e)
	checkBuiltOn(t, e, env, "podman-container://"+name, tag, inProcess)
	checkUnreachable(t, e, env, "podman-container://"+name+"-missing", "no container with name or ID")
}

// podmanEnv is the environment of every podman the test runs, lkpkg's helper included: podmanConf, and a
// storage and temporary directory of the test's own, so that no container of the host's podman is seen or left.
func podmanEnv(t *testing.T) []string {
	t.Helper()
	// podman refuses a runroot path longer than 50 characters, which t.TempDir's often are.
	dir, err := os.MkdirTemp("", "lkpkg-pc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	conf, storage := filepath.Join(dir, "containers.conf"), filepath.Join(dir, "storage.conf")
	// podmanConf ends in its [engine] table, where tmp_dir belongs.
	writeFile(t, conf, podmanConf+fmt.Sprintf("tmp_dir = %q\n", filepath.Join(dir, "tmp")))
	// vfs: the container runs on a root file system directory and needs no image layers, and, unlike the overlay
	// driver, vfs leaves no mount of its own under the storage directory when podman exits.
	writeFile(t, storage, fmt.Sprintf("[storage]\ndriver = \"vfs\"\ngraphroot = %q\nrunroot = %q\n",
		filepath.Join(dir, "root"), filepath.Join(dir, "run")))
	return []string{"CONTAINERS_CONF=" + conf, "CONTAINERS_STORAGE_CONF=" + storage}
}

// startBuildctlContainer starts container name, running until the test ends: the bundled busybox with buildctl
// (and the libraries it links) in /usr/bin, and socket bound at /run/buildkit/buildkitd.sock.
func startBuildctlContainer(t *testing.T, env []string, name, socket string) {
	t.Helper()
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	unpackFixture(t, rootfs)
	buildctl := buildctlBinary(t)
	copyWithLibraries(t, buildctl, rootfs)
	if err := os.MkdirAll(filepath.Join(rootfs, "usr/bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(rootfs, buildctl), filepath.Join(rootfs, "usr/bin/buildctl")); err != nil {
		t.Fatal(err)
	}
	podman := func(args ...string) (string, error) {
		cmd := exec.Command("podman", args...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Cleanup(func() {
		if out, err := podman("rm", "--force", "--time", "0", name); err != nil {
			t.Logf("podman rm %s: %v %s", name, err, out)
		}
	})
	if out, err := podman("run", "--detach", "--name", name, "--network", "none",
		"-v", socket+":/run/buildkit/buildkitd.sock", "--rootfs", rootfs, "sleep", "3600"); err != nil {
		t.Fatalf("podman run: %v\n%s", err, out)
	}
	// The container is what a buildkitd container is to the helper: buildctl reaches buildkitd from inside it.
	if out, err := podman("exec", name, "buildctl", "debug", "workers"); err != nil {
		t.Fatalf("buildctl in container %s does not reach buildkitd: %v\n%s", name, err, out)
	}
}

// TestBuildersSSH builds through ssh://: a private sshd on 127.0.0.1 with buildctl in its sessions' PATH, and
// buildkitd's socket as the address's path. The result equals the in-process build; an ssh port where nothing
// listens is an error naming the builder and ssh's own reason, before anything is built.
func TestBuildersSSH(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("sshd authenticating a user needs root")
	}
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("ssh is not installed (.ci/deps --test installs openssh-server, which brings it)")
	}
	if _, err := os.Stat(sshdPath); err != nil {
		t.Skipf("%s is not installed (.ci/deps --test installs openssh-server)", sshdPath)
	}
	bk := startBuildkitd(t, nil)
	s := startSSHD(t, filepath.Dir(buildctlBinary(t)))

	e := newBuildEnv(t)
	tag, inProcess := helperPackage(e)
	builder := fmt.Sprintf("ssh://root@127.0.0.1:%s%s", s.port, strings.TrimPrefix(bk.addr, "unix://"))
	checkBuiltOn(t, e, s.clientEnv, builder, tag, inProcess)
	if !strings.Contains(s.log.String(), "Accepted publickey for root") {
		t.Errorf("sshd did not log the helper's login:\n%s", tail(s.log.String(), 20))
	}
	closed := "ssh://root@127.0.0.1:" + freePort(t, "127.0.0.1")
	checkUnreachable(t, e, s.clientEnv, closed, "Connection refused")
}

// sshdPath is where Debian's openssh-server puts sshd, which must be started by its absolute path.
const sshdPath = "/usr/sbin/sshd"

// sshServer is a running sshd of the test's own and the environment that makes lkpkg's ssh log in to it.
type sshServer struct {
	port      string
	log       *lockedBuffer
	clientEnv []string
}

// startSSHD starts sshd on a free port of 127.0.0.1 with its own configuration and host key, letting root in
// with a key made here; remotePath is the PATH of its sessions. Nothing of the system's ssh configuration is
// read or changed.
func startSSHD(t *testing.T, remotePath string) *sshServer {
	t.Helper()
	dir := t.TempDir()
	hostKey := writeSSHKey(t, filepath.Join(dir, "host_key"))
	userKey := writeSSHKey(t, filepath.Join(dir, "id_ed25519"))
	s := &sshServer{port: freePort(t, "127.0.0.1"), log: &lockedBuffer{}}
	writeFile(t, filepath.Join(dir, "authorized_keys"), string(ssh.MarshalAuthorizedKey(userKey)))
	// StrictModes would refuse authorized_keys under the world-writable temporary directory; UsePAM no keeps
	// the system's PAM stack out; SetEnv PATH is how sessions find buildctl, as on a host where it is installed.
	writeFile(t, filepath.Join(dir, "sshd_config"), fmt.Sprintf(`ListenAddress 127.0.0.1:%s
HostKey %s
PidFile none
AuthorizedKeysFile %s
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
SetEnv PATH=%s:/usr/sbin:/usr/bin:/sbin:/bin
`, s.port, filepath.Join(dir, "host_key"), filepath.Join(dir, "authorized_keys"), remotePath))
	// sshd's privilege separation directory is compiled in; the system's ssh service makes it when it starts.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sshdPath, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }() // killed at cleanup: its status says nothing
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // it may have exited by itself
		<-done
	})
	waitForListener(t, "127.0.0.1:"+s.port, done, s.log)

	// ssh reads ~/.ssh from the user's passwd entry, not from $HOME: lkpkg's helper finds, first in its PATH, an
	// ssh that reads the test's configuration instead, which trusts only this sshd's host key and never prompts.
	known := fmt.Sprintf("[127.0.0.1]:%s %s", s.port, ssh.MarshalAuthorizedKey(hostKey))
	writeFile(t, filepath.Join(dir, "known_hosts"), known)
	writeFile(t, filepath.Join(dir, "ssh_config"), fmt.Sprintf(`Host *
  IdentityFile %s
  IdentitiesOnly yes
  UserKnownHostsFile %s
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
`, filepath.Join(dir, "id_ed25519"), filepath.Join(dir, "known_hosts")))
	realSSH, err := exec.LookPath("ssh")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	wrapper := fmt.Sprintf("#!/bin/sh\nexec %s -F %s \"$@\"\n", realSSH, filepath.Join(dir, "ssh_config"))
	if err := os.WriteFile(filepath.Join(bin, "ssh"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	s.clientEnv = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "SSH_AUTH_SOCK="}
	return s
}

// writeSSHKey writes a new unencrypted ed25519 private key in OpenSSH format to path and returns its public key.
func writeSSHKey(t *testing.T, path string) ssh.PublicKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "lkpkg e2e")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return sshPub
}

// waitForListener waits until something accepts connections on addr, failing the test when the server exits
// (done) or does not listen within a minute.
func waitForListener(t *testing.T, addr string, done <-chan struct{}, log *lockedBuffer) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-done:
			t.Fatalf("the server for %s exited:\n%s", addr, tail(log.String(), 20))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s after a minute:\n%s", addr, tail(log.String(), 20))
		}
	}
}
