package e2e

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// TestBuildSSHForwarding builds with two --ssh agents, one made of a key file and one an agent socket, and reads
// in the build container which identities each RUN --mount=type=ssh reached.
func TestBuildSSHForwarding(t *testing.T) {
	e := newBuildEnv(t)
	keyFile, fromFile := sshKeyFile(t)
	socket, fromSocket := sshAgentSocket(t)
	arch := runtime.GOARCH
	e.pkg("pkg/ssh", "image: ssh\narches: ["+arch+"]\n", `FROM busybox:fixture
COPY --chmod=755 sshagent /sshagent
RUN --mount=type=ssh /sshagent > /default
RUN --mount=type=ssh,id=deploy,required=true /sshagent > /deploy
`, "sshagent", string(buildSSHAgentLister(t)))
	e.mustBuild(nil, "--ssh", "default="+keyFile, "--ssh", "deploy="+socket, "pkg/ssh")
	tag := e.tag("pkg/ssh")
	if got := strings.TrimSpace(e.file(tag, arch, "/default")); got != fromFile {
		t.Errorf("--ssh default=<key file>: the build saw %q, want %q", got, fromFile)
	}
	if got := strings.TrimSpace(e.file(tag, arch, "/deploy")); got != fromSocket {
		t.Errorf("--ssh deploy=<agent socket>: the build saw %q, want %q", got, fromSocket)
	}

	// Without --ssh, a mount that requires an agent fails the build, naming it.
	e.pkg("pkg/nossh", "image: nossh\narches: ["+arch+"]\n", "FROM busybox:fixture\nRUN --mount=type=ssh,id=deploy,required=true true\n")
	if r := e.build(nil, "pkg/nossh"); r.code == 0 || !strings.Contains(r.stderr, "deploy") {
		t.Errorf("a required ssh mount without --ssh: exit %d\n%s", r.code, tail(r.stderr, 10))
	}
	// Bad values fail before anything is built, saying which value and why.
	for _, tc := range []struct{ spec, want string }{
		{"default=" + filepath.Join(t.TempDir(), "missing"), "no such file"},
		// One value holds several keys, comma-separated (a plain string-slice flag would split it in two).
		{"default=" + keyFile + "," + filepath.Join(t.TempDir(), "missing"), "no such file"},
		{"default=" + filepath.Join(e.repo.Dir, "pkg/ssh/Dockerfile"), "agent socket or an unencrypted private key"},
		{"=x", "no id"},
	} {
		r := e.build([]string{"SSH_AUTH_SOCK="}, "--ssh", tc.spec, "pkg/nossh")
		if r.code == 0 || !strings.Contains(r.stderr, `--ssh "`+tc.spec+`"`) || !strings.Contains(r.stderr, tc.want) ||
			strings.Contains(r.stderr, "Building") {
			t.Errorf("--ssh %s: exit %d, want an error before building mentioning %q:\n%s", tc.spec, r.code, tc.want, tail(r.stderr, 10))
		}
	}
}

// sshKeyFile writes a new unencrypted ed25519 private key in OpenSSH format and returns its path and fingerprint.
func sshKeyFile(t *testing.T) (path, fingerprint string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "lkpkg e2e")
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return path, ssh.FingerprintSHA256(sshPub)
}

// sshAgentSocket serves an SSH agent holding one new key on a unix socket for the test's duration.
func sshAgentSocket(t *testing.T) (socket, fingerprint string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	socket = filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if errors.Is(err, net.ErrClosed) {
				return
			} else if err != nil {
				continue
			}
			go func() {
				defer conn.Close()
				_ = agent.ServeAgent(keyring, conn)
			}()
		}
	}()
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return socket, ssh.FingerprintSHA256(sshPub)
}

// buildSSHAgentLister builds testdata/sshagent as a static binary for this host.
func buildSSHAgentLister(t *testing.T) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "sshagent")
	goTool, err := exec.LookPath("go")
	if err != nil {
		// The test binary runs on the machine that built it, so its GOROOT is meaningful here.
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go") //nolint:staticcheck
	}
	cmd := exec.Command(goTool, "build", "-mod=vendor", "-trimpath", "-o", out, "./testdata/sshagent")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the agent lister: %v\n%s", err, msg)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestRootlessSSHForwarding: an unprivileged user's build reaches the key file it names with --ssh (read by lkpkg
// in the user namespace, where the user's own files stay readable).
func TestRootlessSSHForwarding(t *testing.T) {
	u := newRootlessUser(t, true)
	keyFile, fingerprint := sshKeyFile(t)
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	userKey := filepath.Join(u.home, "id_ed25519")
	lister := filepath.Join(u.repo, "pkg/ssh/sshagent")
	u.do("mkdir", "-p", filepath.Dir(lister))
	for path, f := range map[string]struct {
		data []byte
		mode os.FileMode
	}{userKey: {key, 0o600}, lister: {buildSSHAgentLister(t), 0o755}} {
		if err := os.WriteFile(path, f.data, f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(path, u.uid, u.gid); err != nil {
			t.Fatal(err)
		}
	}
	u.pkg("pkg/ssh", "image: ssh\narches: ["+runtime.GOARCH+"]\n",
		"FROM busybox:fixture\nCOPY sshagent /sshagent\nRUN --mount=type=ssh,required=true /sshagent > /default\n")
	u.mustLkpkg("cache", "import", u.fixture)
	r := u.mustLkpkg("pkg", "build", "--progress", "plain", "--ssh", "default="+userKey, "pkg/ssh")
	tag := "docker.io/" + strings.TrimSpace(r.stdout)
	fs := exportFilesystem(t, u.cacheDir(), tag, runtime.GOARCH)
	if got := strings.TrimSpace(tarFile(t, fs, "default")); got != fingerprint {
		t.Errorf("rootless --ssh default=<key file>: the build saw %q, want %q", got, fingerprint)
	}
}
