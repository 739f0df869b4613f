package e2e

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// buildkitdBinary is buildkitd of the BuildKit version in go.mod, built once from the Go module cache (the Go
// module proxy the first time) into the directory bench/build.sh keeps it in.
var buildkitdBinary = sync.OnceValues(func() (string, error) {
	version, err := goModVersion("github.com/moby/buildkit")
	if err != nil {
		return "", err
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		cache = filepath.Join(home, ".cache")
	}
	bin := filepath.Join(cache, "lkpkg-bench", "buildkit-"+version, "bin")
	if _, err := os.Stat(filepath.Join(bin, "buildkitd")); err == nil {
		return filepath.Join(bin, "buildkitd"), nil
	}
	work, err := os.MkdirTemp("", "lkpkg-buildkitd-src")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	dl := exec.Command("go", "mod", "download", "-json", "github.com/moby/buildkit@"+version)
	dl.Dir, dl.Env = work, append(os.Environ(), "GOFLAGS=")
	out, err := dl.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download buildkit %s: %w", version, err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return "", fmt.Errorf("go mod download buildkit %s: no module dir in %s", version, out)
	}
	// BuildKit's go.mod has exclude directives, which `go install …@version` refuses: build in a copy of the module.
	src := filepath.Join(work, "src")
	if out, err := exec.Command("cp", "-r", mod.Dir, src).CombinedOutput(); err != nil {
		return "", fmt.Errorf("copy buildkit source: %w %s", err, out)
	}
	if out, err := exec.Command("chmod", "-R", "u+w", src).CombinedOutput(); err != nil {
		return "", fmt.Errorf("chmod buildkit source: %w %s", err, out)
	}
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-X github.com/moby/buildkit/version.Version="+version,
		"-o", bin+"/", "./cmd/buildkitd", "./cmd/buildctl")
	build.Dir, build.Env = src, append(os.Environ(), "GOFLAGS=-mod=mod")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build buildkitd %s: %w\n%s", version, err, tail(string(out), 20))
	}
	return filepath.Join(bin, "buildkitd"), nil
})

// goModVersion is the version go.mod requires of module.
func goModVersion(module string) (string, error) {
	f, err := os.Open("../go.mod")
	if err != nil {
		return "", err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) >= 2 && fields[0] == module {
			return fields[1], nil
		}
	}
	return "", fmt.Errorf("go.mod does not require %s", module)
}

// testPKI is a CA with a server certificate for 127.0.0.1 and a client certificate, as files.
type testPKI struct {
	dir                            string
	ca, serverCert, serverKey      string
	clientCert, clientKey, otherCA string
	caKey                          *ecdsa.PrivateKey
	caTemplate                     *x509.Certificate
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	p := &testPKI{dir: t.TempDir()}
	var caDER []byte
	p.caKey, p.caTemplate, caDER = newCA(t, "lkpkg test CA")
	p.ca = p.writePEM(t, "ca.pem", "CERTIFICATE", caDER)
	_, _, otherDER := newCA(t, "some other CA")
	p.otherCA = p.writePEM(t, "other-ca.pem", "CERTIFICATE", otherDER)
	p.serverCert, p.serverKey = p.leaf(t, "server", x509.ExtKeyUsageServerAuth)
	p.clientCert, p.clientKey = p.leaf(t, "client", x509.ExtKeyUsageClientAuth)
	return p
}

func newCA(t *testing.T, name string) (*ecdsa.PrivateKey, *x509.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return key, tmpl, der
}

func (p *testPKI) leaf(t *testing.T, name string, usage x509.ExtKeyUsage) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caTemplate, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return p.writePEM(t, name+".pem", "CERTIFICATE", der), p.writePEM(t, name+"-key.pem", "EC PRIVATE KEY", keyDER)
}

func (p *testPKI) writePEM(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// address is the --builders form of a TLS builder at hostPort, trusting ca.
func (p *testPKI) address(hostPort, ca string) string {
	return fmt.Sprintf("tcp://%s?cacert=%s&cert=%s&key=%s", hostPort, ca, p.clientCert, p.clientKey)
}

// buildkitd is a running buildkitd of the go.mod version.
type buildkitd struct {
	cmd  *exec.Cmd
	addr string // tcp://127.0.0.1:port or unix:///path
	log  *lockedBuffer
	done chan struct{}
}

// startBuildkitd starts buildkitd with its own root, on TCP with mutual TLS (pki) or, without pki, on a unix
// socket; extra are more buildkitd flags.
func startBuildkitd(t *testing.T, pki *testPKI, extra ...string) *buildkitd {
	t.Helper()
	bin, err := buildkitdBinary()
	if err != nil {
		t.Fatalf("buildkitd for the e2e tests: %v", err)
	}
	if _, err := exec.LookPath("runc"); err != nil {
		if _, err := os.Stat("/usr/sbin/runc"); err != nil {
			t.Fatal("buildkitd's OCI worker needs runc (.ci/deps installs it)")
		}
	}
	dir, err := os.MkdirTemp("", "lkpkg-buildkitd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = exec.Command("umount", "-R", dir).Run() // fails when buildkitd left nothing mounted
		os.RemoveAll(dir)
	})
	config := filepath.Join(dir, "buildkitd.toml")
	writeFile(t, config, "")
	args := []string{"--config", config, "--root", filepath.Join(dir, "root"), "--oci-worker=true", "--containerd-worker=false",
		"--otel-socket-path", filepath.Join(dir, "otel.sock")}
	b := &buildkitd{log: &lockedBuffer{}, done: make(chan struct{})}
	if pki != nil {
		b.addr = "tcp://127.0.0.1:" + freePort(t, "127.0.0.1")
		args = append(args, "--addr", b.addr, "--tlscacert", pki.ca, "--tlscert", pki.serverCert, "--tlskey", pki.serverKey)
	} else {
		b.addr = "unix://" + filepath.Join(dir, "buildkitd.sock")
		args = append(args, "--addr", b.addr)
	}
	// buildkitd is the first process of a PID namespace with its own /proc, and mounts in a private mount
	// namespace: killed (the killed-builder test does that; --kill-child passes unshare's death on), it takes its
	// RUN containers and their mounts with it, as a builder's machine going down would, instead of leaving them
	// on this one.
	b.cmd = exec.Command("unshare", append([]string{"--pid", "--fork", "--kill-child", "--mount", "--propagation", "private",
		"--mount-proc", bin}, append(args, extra...)...)...)
	b.cmd.Env = append(os.Environ(), "PATH=/usr/sbin:/usr/bin:/sbin:/bin")
	b.cmd.Stdout, b.cmd.Stderr = b.log, b.log
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = b.cmd.Wait(); close(b.done) }() // killed at cleanup: its status says nothing
	t.Cleanup(b.kill)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var c net.Conn
		if pki != nil {
			c, err = net.Dial("tcp", strings.TrimPrefix(b.addr, "tcp://"))
		} else {
			c, err = net.Dial("unix", strings.TrimPrefix(b.addr, "unix://"))
		}
		if err == nil {
			c.Close()
			return b
		}
		select {
		case <-b.done:
			t.Fatalf("buildkitd exited:\n%s", tail(b.log.String(), 20))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("buildkitd did not listen within a minute:\n%s", tail(b.log.String(), 20))
		}
	}
}

func (b *buildkitd) kill() {
	select {
	case <-b.done:
		return
	default:
	}
	_ = b.cmd.Process.Kill() // it may have exited meanwhile
	<-b.done
}

// remoteDockerfile builds something different on each architecture, from the cached base image, with a build arg
// and a label, so that equal digests mean equal bytes of everything that went into the image.
const remoteDockerfile = `FROM busybox:fixture AS build
ARG GREETING
RUN mkdir -p /out/etc && uname -m > /out/etc/arch && echo "$GREETING" > /out/etc/greeting
FROM scratch
COPY --from=build /out/ /
COPY data /etc/data
`

func TestBuildersRemoteSameDigests(t *testing.T) {
	pki := newTestPKI(t)
	arm := startBuildkitd(t, pki)
	s390 := startBuildkitd(t, pki)
	e := newBuildEnv(t)
	e.state = t.TempDir()
	e.pkg("pkg/remote", "image: remote\narches: [amd64, arm64, s390x]\nbuildArgs:\n  - GREETING=hello\nconfig:\n  binds: [\"/a:/b\"]\n",
		remoteDockerfile, "data", "some data\n", ".dockerignore", "ignored\n", "ignored", "not sent\n")
	tag := e.tag("pkg/remote")

	e.mustBuild(nil, "pkg/remote")
	local := map[string]string{}
	for _, arch := range []string{"amd64", "arm64", "s390x"} {
		local[arch] = e.manifestDigest(tag, arch)
	}

	builders := "linux/arm64=" + pki.address(strings.TrimPrefix(arm.addr, "tcp://"), pki.ca) +
		",linux/s390x=" + pki.address(strings.TrimPrefix(s390.addr, "tcp://"), pki.ca)
	r := e.mustBuild(nil, "--force", "--builders", builders, "pkg/remote")
	for _, want := range []string{"on builder " + arm.addr, "on builder " + s390.addr, "[@" + arm.addr + "]"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the progress does not say %q:\n%s", want, tail(r.stderr, 30))
		}
	}
	for arch, want := range local {
		if got := e.manifestDigest(tag, arch); got != want {
			t.Errorf("%s: built with --builders %s, in-process %s", arch, got, want)
		}
	}
	if got := e.file(tag, "s390x", "etc/arch"); got != "s390x\n" {
		t.Errorf("s390x image's /etc/arch: %q", got)
	}
	if got := e.file(tag, "arm64", "etc/greeting"); got != "hello\n" {
		t.Errorf("arm64 image's /etc/greeting: %q", got)
	}

	t.Run("unix", func(t *testing.T) {
		u := startBuildkitd(t, nil)
		e.mustBuild(nil, "--force", "--platforms", "linux/arm64", "--builders", "linux/arm64="+u.addr, "pkg/remote")
		if got := e.manifestDigest(tag, "arm64"); got != local["arm64"] {
			t.Errorf("arm64 over unix://: %s, in-process %s", got, local["arm64"])
		}
	})

	t.Run("network", func(t *testing.T) {
		port := loopbackListener(t)
		df := fmt.Sprintf("FROM busybox:fixture\nRUN wget -q -O /reached http://127.0.0.1:%d/ && cat /reached\n", port)
		e.pkg("pkg/off", "image: off\narches: [arm64]\n", df)
		e.pkg("pkg/on", "image: on\narches: [arm64]\nnetwork: true\n", df)
		r := e.build(nil, "--builders", "linux/arm64="+pki.address(strings.TrimPrefix(arm.addr, "tcp://"), pki.ca), "pkg/off")
		if r.code == 0 {
			t.Fatalf("network: false reached a host listener from the remote builder:\n%s", tail(r.stderr, 20))
		}
		r = e.build(nil, "--builders", "linux/arm64="+pki.address(strings.TrimPrefix(arm.addr, "tcp://"), pki.ca), "pkg/on")
		if r.code == 0 || !strings.Contains(r.stderr, "--allow-insecure-entitlement network.host") || !strings.Contains(r.stderr, arm.addr) {
			t.Fatalf("network: true on a builder without the entitlement: exit %d\n%s", r.code, tail(r.stderr, 20))
		}
		host := startBuildkitd(t, pki, "--allow-insecure-entitlement", "network.host")
		r = e.mustBuild(nil, "--builders", "linux/arm64="+pki.address(strings.TrimPrefix(host.addr, "tcp://"), pki.ca), "pkg/on")
		if !strings.Contains(r.stderr, "reach") {
			t.Errorf("network: true on a builder allowing it did not fetch:\n%s", tail(r.stderr, 20))
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, c := range []struct{ builders, want string }{
			{"linux/arm64=" + pki.address(strings.TrimPrefix(arm.addr, "tcp://"), pki.otherCA), "TLS handshake failed"},
			{"linux/arm64=tcp://127.0.0.1:" + freePort(t, "127.0.0.1"), "cannot be reached"},
			{"linux/arm64=my-docker-context", "docker context names are not BuildKit addresses"},
			{"linux/arm64=tcp://127.0.0.1:1?cacert=/nonexistent.pem", "cacert file"},
			{"linux/arm64", "want <platform>=<builder>"},
			{"linux/arm64=" + pki.address(strings.TrimPrefix(arm.addr, "tcp://"), pki.ca) + ",linux/arm64=" + arm.addr, "two builders for linux/arm64"},
		} {
			r := e.build(nil, "--force", "--builders", c.builders, "pkg/remote")
			if r.code == 0 || !strings.Contains(r.stderr, c.want) || strings.Contains(r.stderr, "Building ") {
				t.Errorf("--builders %s: exit %d, want an error saying %q before building:\n%s", c.builders, r.code, c.want, tail(r.stderr, 10))
			}
		}
	})

	t.Run("killed", func(t *testing.T) {
		victim := startBuildkitd(t, pki)
		e.pkg("pkg/slow", "image: slow\narches: [arm64]\n", "FROM busybox:fixture\nRUN echo step-\"started\" && sleep 20 && echo done > /done\n")
		cmd := exec.Command(lkpkgBin, "--cache", e.cache, "pkg", "build", "--state-dir", e.state, "--progress", "plain",
			"--builders", "linux/arm64="+pki.address(strings.TrimPrefix(victim.addr, "tcp://"), pki.ca), "pkg/slow")
		cmd.Dir, cmd.Env = e.repo.Dir, testEnv()
		out := &lockedBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { return strings.Contains(out.String(), "step-started") }, 120*time.Second)
		victim.kill()
		err := cmd.Wait()
		if err == nil || !strings.Contains(out.String(), victim.addr) {
			t.Fatalf("a build whose builder died: %v\n%s", err, tail(out.String(), 20))
		}
		if ls := mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "ls"); strings.Contains(ls, "slow") {
			t.Fatalf("the killed build left an entry:\n%s", ls)
		}
		var idx struct{ Manifests []json.RawMessage }
		e.skopeoJSON(&idx, "--raw", e.ociRef(tag))
		if len(idx.Manifests) != 3 {
			t.Fatalf("the earlier entry %s changed: %d manifests", tag, len(idx.Manifests))
		}
	})
}
