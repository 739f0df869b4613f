package e2e

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dockerDir is where `.ci/deps --test` unpacks Debian's dockerd, containerd and docker CLI (not installed: the
// tests start the daemon themselves); LKPKG_TEST_DOCKER_DIR names another such tree.
const dockerDir = "/usr/local/lib/lkpkg-test/docker"

// dockerDaemon is a real dockerd on a socket of the test's own: no bridge, no iptables, the vfs storage driver,
// its state in a temporary directory. It stops when the test ends. extraArgs go to dockerd (e.g. a TLS listener).
type dockerDaemon struct {
	t    *testing.T
	host string   // DOCKER_HOST for lkpkg and the CLI
	cli  string   // the docker CLI unpacked with it
	env  []string // PATH with containerd and its shims, a private DOCKER_CONFIG
}

func startDockerd(t *testing.T, extraArgs ...string) *dockerDaemon {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("running dockerd needs root")
	}
	root := os.Getenv("LKPKG_TEST_DOCKER_DIR")
	if root == "" {
		root = dockerDir
	}
	dockerd := filepath.Join(root, "usr/sbin/dockerd")
	if _, err := os.Stat(dockerd); err != nil {
		t.Fatalf("no dockerd at %s (%v): run .ci/deps --test, which unpacks Debian's docker.io there", dockerd, err)
	}
	// A short directory: containerd's socket lives below it, and unix socket paths stop at 108 bytes.
	dir, err := os.MkdirTemp("", "lkd")
	if err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "daemon.json") // not /etc/docker/daemon.json
	if err := os.WriteFile(config, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := &dockerDaemon{t: t, host: "unix://" + filepath.Join(dir, "docker.sock"), cli: filepath.Join(root, "usr/bin/docker"),
		env: append(os.Environ(), "PATH="+filepath.Join(root, "usr/bin")+":"+filepath.Join(root, "usr/sbin")+":"+os.Getenv("PATH"),
			"DOCKER_CONFIG="+filepath.Join(dir, "cli"))}
	logFile, err := os.Create(filepath.Join(dir, "dockerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(dockerd, "--config-file", config, "--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "run"), "--pidfile", filepath.Join(dir, "dockerd.pid"), "--host", d.host,
		"--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false",
		"--userland-proxy=false", "--storage-driver=vfs")
	cmd.Args = append(cmd.Args, extraArgs...)
	cmd.Env, cmd.Stdout, cmd.Stderr = d.env, logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }() // stopped at cleanup: its status says nothing
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // it may have exited already
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logFile.Close()
		os.RemoveAll(dir)
	})
	if err := waitForDocker(filepath.Join(dir, "docker.sock"), exited); err != nil {
		log, _ := os.ReadFile(logFile.Name())
		t.Fatalf("dockerd did not start: %v\n%s", err, tail(string(log), 20))
	}
	return d
}

// waitForDocker polls the Engine API's /_ping until it answers OK, dockerd exits or a minute has passed.
func waitForDocker(socket string, exited <-chan struct{}) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		}}}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if resp, err := client.Get("http://docker/_ping"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("dockerd exited")
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.New("no answer on " + socket + " within a minute")
}

// docker runs the docker CLI against the daemon and returns its standard output.
func (d *dockerDaemon) docker(args ...string) string {
	d.t.Helper()
	cmd := exec.Command(d.cli, append([]string{"--host", d.host}, args...)...)
	cmd.Env = d.env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		d.t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// helloDockerfile is a LinuxKit-style package: a scratch image holding its data and one static program.
const helloDockerfile = `FROM busybox:fixture AS build
RUN mkdir -p /out/etc /out/bin && echo "hello from $(uname -m)" > /out/etc/hello && cp /bin/busybox /out/bin/cat
FROM scratch
COPY --from=build /out/ /
CMD ["/bin/cat", "/etc/hello"]
`

// TestDockerDaemonRunsWhatLkpkgGives: Docker itself runs what `pkg build --docker` loads (the host's image under
// the plain tag, every arch under <tag>-<arch>, foreign ones through QEMU) and what `docker load` reads from
// `cache export --format docker`.
func TestDockerDaemonRunsWhatLkpkgGives(t *testing.T) {
	d := startDockerd(t)
	e := newBuildEnv(t)
	foreign, foreignUname := otherArch()
	hostUname := unameOf[runtime.GOARCH]
	e.pkg("pkg/hi", "image: hi\narches: ["+runtime.GOARCH+", "+foreign+"]\n", helloDockerfile)
	e.mustBuild([]string{"DOCKER_HOST=" + d.host}, "--docker", "pkg/hi")
	tag := e.tag("pkg/hi")
	for ref, want := range map[string]string{tag: hostUname, tag + "-" + runtime.GOARCH: hostUname, tag + "-" + foreign: foreignUname} {
		if got := strings.TrimSpace(d.docker("run", "--rm", "--network", "none", ref)); got != "hello from "+want {
			t.Errorf("docker run %s: %q, want %q", ref, got, "hello from "+want)
		}
	}

	e.pkg("pkg/exported", "image: exported\narches: ["+foreign+"]\n", helloDockerfile)
	e.mustBuild(nil, "pkg/exported")
	archive := filepath.Join(t.TempDir(), "exported.tar")
	exported := e.tag("pkg/exported")
	mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "export", "--platform", "linux/"+foreign,
		"--format", "docker", "--outfile", archive, exported)
	d.docker("load", "--input", archive)
	if got := strings.TrimSpace(d.docker("run", "--rm", "--network", "none", exported)); got != "hello from "+foreignUname {
		t.Errorf("docker run of the loaded export: %q, want %q", got, "hello from "+foreignUname)
	}
}

// TestDockerContextReachesDaemon: with no DOCKER_HOST, `--docker` finds the daemon through the docker CLI's current
// context (made and selected by the docker CLI itself), and DOCKER_CONTEXT picks a context over it.
func TestDockerContextReachesDaemon(t *testing.T) {
	d := startDockerd(t)
	e := newBuildEnv(t)
	d.docker("context", "create", "lkpkg-test", "--docker", "host="+d.host)
	d.docker("context", "create", "nowhere", "--docker", "host=unix:///nonexistent/docker.sock")
	d.docker("context", "use", "lkpkg-test")
	var config string
	for _, kv := range d.env {
		if v, ok := strings.CutPrefix(kv, "DOCKER_CONFIG="); ok {
			config = v
		}
	}
	env := []string{"DOCKER_HOST=", "DOCKER_CONFIG=" + config}
	e.pkg("pkg/ctx", "image: ctx\narches: ["+runtime.GOARCH+"]\n", helloDockerfile)
	tag := e.tag("pkg/ctx")
	r := e.mustBuild(env, "--docker", "pkg/ctx")
	if !strings.Contains(r.stderr, "into Docker at "+d.host) {
		t.Errorf("the build does not say it loaded into %s:\n%s", d.host, tail(r.stderr, 10))
	}
	if got := strings.TrimSpace(d.docker("run", "--rm", "--network", "none", tag)); got != "hello from "+unameOf[runtime.GOARCH] {
		t.Errorf("docker run %s: %q", tag, got)
	}
	// DOCKER_CONTEXT wins over the current context, as with the docker CLI: here it names a daemon that is not there.
	r = e.build(append(env, "DOCKER_CONTEXT=nowhere"), "--docker", "pkg/ctx")
	if r.code != 1 || !strings.Contains(r.stderr, "unix:///nonexistent/docker.sock") || !strings.Contains(r.stderr, "docker context nowhere") {
		t.Errorf("DOCKER_CONTEXT=nowhere: exit %d\n%s", r.code, tail(r.stderr, 10))
	}
}

// TestDockerTLSReachesDaemon: `--docker` reaches a daemon on TCP with mutual TLS through DOCKER_HOST,
// DOCKER_TLS_VERIFY and DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem), as the docker CLI does, and a client that
// trusts another CA is refused with an error that says it is TLS.
func TestDockerTLSReachesDaemon(t *testing.T) {
	p := newTestPKI(t)
	hostPort := "127.0.0.1:" + freePort(t, "127.0.0.1")
	d := startDockerd(t, "--host", "tcp://"+hostPort, "--tlsverify", "--tlscacert", p.ca,
		"--tlscert", p.serverCert, "--tlskey", p.serverKey)
	e := newBuildEnv(t)
	e.pkg("pkg/tls", "image: tls\narches: ["+runtime.GOARCH+"]\n", helloDockerfile)
	certDir := func(ca string) string {
		dir := t.TempDir()
		for name, src := range map[string]string{"ca.pem": ca, "cert.pem": p.clientCert, "key.pem": p.clientKey} {
			b, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	env := []string{"DOCKER_HOST=tcp://" + hostPort, "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=" + certDir(p.ca)}
	r := e.mustBuild(env, "--docker", "pkg/tls")
	if !strings.Contains(r.stderr, "into Docker at tcp://"+hostPort) {
		t.Errorf("the build does not say it loaded into tcp://%s:\n%s", hostPort, tail(r.stderr, 10))
	}
	tag := e.tag("pkg/tls")
	if got := strings.TrimSpace(d.docker("run", "--rm", "--network", "none", tag)); got != "hello from "+unameOf[runtime.GOARCH] {
		t.Errorf("docker run %s: %q", tag, got)
	}
	env[2] = "DOCKER_CERT_PATH=" + certDir(p.otherCA)
	r = e.build(env, "--docker", "pkg/tls")
	if r.code != 1 || !strings.Contains(r.stderr, "tcp://"+hostPort) || !strings.Contains(strings.ToLower(r.stderr), "certificate") {
		t.Errorf("a client trusting another CA: exit %d\n%s", r.code, tail(r.stderr, 10))
	}
}
