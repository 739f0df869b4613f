package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// distRegistry is Debian's docker-registry, the CNCF distribution server most private registries run, on
// loopback, with its storage in a test directory, htpasswd (bcrypt) basic auth, and TLS with a self-signed
// certificate the test made (unless plain HTTP was asked for).
type distRegistry struct {
	host       string // ip:port
	caFile     string // PEM of the certificate the registry serves; "" for plain HTTP
	certDir    string // caFile as skopeo's --cert-dir wants it (ca.crt)
	user, pass string
	cert       tls.Certificate // the served certificate and key, for a proxy in front (uploadCounter)
}

type distOptions struct {
	ip        string // listen address; default 127.0.0.1
	plainHTTP bool
}

// newDistRegistry starts docker-registry and waits until /v2/ answers; it is stopped when the test ends, and its
// log is shown if the test failed.
func newDistRegistry(t testing.TB, o distOptions) *distRegistry {
	t.Helper()
	if o.ip == "" {
		o.ip = "127.0.0.1"
	}
	dir := t.TempDir()
	d := &distRegistry{host: net.JoinHostPort(o.ip, freePort(t, o.ip)), user: regUser, pass: regPass}
	hash, err := bcrypt.GenerateFromPassword([]byte(d.pass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "htpasswd"), d.user+":"+string(hash)+"\n")
	tlsConf := ""
	if !o.plainHTTP {
		d.certDir = filepath.Join(dir, "certs")
		d.caFile = filepath.Join(d.certDir, "ca.crt")
		d.cert = selfSignedCert(t, o.ip, d.caFile, filepath.Join(dir, "key.pem"))
		tlsConf = fmt.Sprintf("  tls:\n    certificate: %s\n    key: %s\n", d.caFile, filepath.Join(dir, "key.pem"))
	}
	config := fmt.Sprintf(`version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: %s
  maintenance:
    uploadpurging:
      enabled: false
auth:
  htpasswd:
    realm: lkpkg-test
    path: %s
http:
  addr: %s
  secret: lkpkg-e2e-secret
%s`, filepath.Join(dir, "storage"), filepath.Join(dir, "htpasswd"), d.host, tlsConf)
	writeFile(t, filepath.Join(dir, "config.yml"), config)

	logFile, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	logText := func() string { b, _ := os.ReadFile(logFile.Name()); return string(b) }
	cmd := exec.Command("docker-registry", "serve", filepath.Join(dir, "config.yml"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting docker-registry (Debian package docker-registry): %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		// The registry's exit status after SIGTERM or SIGKILL says nothing about the test.
		select {
		case <-exited: //nolint:errcheck
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited //nolint:errcheck
		}
		if t.Failed() {
			t.Logf("docker-registry %s log:\n%s", d.host, tail(logText(), 60))
		}
	})
	if err := d.waitReady(exited); err != nil {
		t.Fatalf("docker-registry on %s: %v\n%s", d.host, err, logText())
	}
	return d
}

// waitReady polls /v2/ until the registry answers (401: it wants the login), for at most 15 seconds.
func (d *distRegistry) waitReady(exited <-chan error) error {
	client := &http.Client{Transport: d.transport(), Timeout: time.Second}
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		select {
		case err := <-exited:
			return fmt.Errorf("exited before serving: %w", err)
		default:
		}
		resp, err := client.Get(d.url() + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("/v2/ did not answer within 15s")
}

func (d *distRegistry) url() string {
	if d.caFile == "" {
		return "http://" + d.host
	}
	return "https://" + d.host
}

// transport trusts the registry's certificate.
func (d *distRegistry) transport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if d.caFile != "" {
		pool := x509.NewCertPool()
		pool.AddCert(d.cert.Leaf)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return tr
}

// creds is the --registry-creds value for the registry.
func (d *distRegistry) creds() string { return d.host + "=" + d.user + ":" + d.pass }

// skopeoArgs are skopeo's options to reach the registry; prefix is "" for inspect, "src-" for copy's source.
func (d *distRegistry) skopeoArgs(prefix string) []string {
	args := []string{"--" + prefix + "creds", d.user + ":" + d.pass}
	if d.caFile == "" {
		return append(args, "--"+prefix+"tls-verify=false")
	}
	return append(args, "--"+prefix+"cert-dir", d.certDir)
}

// raw reads ref's manifest or index with skopeo, returning its bytes ("" when the registry does not have it).
func (d *distRegistry) raw(t testing.TB, ref string) []byte {
	t.Helper()
	args := append(append([]string{"inspect", "--raw"}, d.skopeoArgs("")...), "docker://"+ref)
	var stderr bytes.Buffer
	cmd := exec.Command("skopeo", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if strings.Contains(stderr.String(), "manifest unknown") {
			return nil
		}
		t.Fatalf("skopeo %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// digest is the digest of ref's manifest bytes in the registry, "" when it has none.
func (d *distRegistry) digest(t testing.TB, ref string) string {
	t.Helper()
	raw := d.raw(t, ref)
	if raw == nil {
		return ""
	}
	return fmt.Sprintf("sha256:%x", sha256.Sum256(raw))
}

// platforms reads the index ref and returns arch → child digest.
func (d *distRegistry) platforms(t testing.TB, ref string) map[string]string {
	t.Helper()
	var idx struct {
		Manifests []struct {
			Digest   string
			Platform *struct{ Architecture string }
		}
	}
	if err := json.Unmarshal(d.raw(t, ref), &idx); err != nil {
		t.Fatalf("index %s: %v", ref, err)
	}
	out := map[string]string{}
	for _, m := range idx.Manifests {
		if m.Platform != nil {
			out[m.Platform.Architecture] = m.Digest
		}
	}
	return out
}

// uploadCounter is a reverse proxy owned by the test, in front of a distRegistry with the same certificate; it
// counts the requests that upload something (POST, PUT, PATCH).
type uploadCounter struct {
	host    string
	uploads atomic.Int64
}

func newUploadCounter(t testing.TB, d *distRegistry) *uploadCounter {
	t.Helper()
	backend, err := url.Parse(d.url())
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(backend)
	proxy.Transport = d.transport()
	proxy.ErrorLog = log.New(io.Discard, "", 0)
	uc := &uploadCounter{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
			uc.uploads.Add(1)
		}
		// The registry builds upload URLs from Host; keeping the proxy's makes clients come back through it.
		proxy.ServeHTTP(w, r)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{d.cert}, MinVersion: tls.VersionTLS12}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	uc.host = strings.TrimPrefix(srv.URL, "https://")
	return uc
}

// selfSignedCert writes a self-signed certificate for ip (PEM, to certFile) and its key, and returns them.
func selfSignedCert(t testing.TB, ip, certFile, keyFile string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "lkpkg e2e registry"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP(ip)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(certFile), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})))
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// freePort is a TCP port on ip nothing listens on now. docker-registry takes its address from its config, so the
// port is closed again before the registry binds it; another process taking it in between makes the start fail
// with the registry's log, not hang.
func freePort(t testing.TB, ip string) string {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// distBuild runs `lkpkg pkg build` with root options (such as --cert-file) before the command.
func distBuild(e *buildEnv, env, root []string, args ...string) result {
	e.t.Helper()
	full := append(append(root, "--cache", e.cache, "pkg", "build", "--state-dir", e.state, "--progress", "plain"), args...)
	return lkpkg(e.t, e.repo.Dir, env, full...)
}

// A 2-arch package pushed through a counting proxy to the distribution registry reads back, with skopeo, byte for
// byte as the cache holds it, arch tags included; a re-push uploads nothing.
func TestDistributionPushTwoArch(t *testing.T) {
	d := newDistRegistry(t, distOptions{})
	proxy := newUploadCounter(t, d)
	e := newBuildEnv(t)
	env := noCredsEnv(t)
	root := []string{"--cert-file", d.caFile}
	creds := proxy.host + "=" + d.user + ":" + d.pass
	e.pkg("pkg/p", "image: p\norg: "+proxy.host+"/lk\narches: [amd64, arm64]\n", pushDockerfile)
	push := func() result {
		t.Helper()
		r := distBuild(e, env, root, "--push", "--manifest", "--registry-creds", creds, "pkg/p")
		if r.code != 0 {
			t.Fatalf("build --push: exit %d\n%s", r.code, tail(r.stderr, 30))
		}
		return r
	}
	push()
	if proxy.uploads.Load() == 0 {
		t.Fatal("the push did not go through the counting proxy")
	}
	tag := e.tag("pkg/p")
	checkOCILayout(t, e.cache)
	// The same repository, read from the registry directly rather than through the proxy.
	remote := d.host + strings.TrimPrefix(tag, proxy.host)
	if got, want := d.digest(t, remote), e.rawDigest(tag); got != want {
		t.Fatalf("registry index %s, cache %s", got, want)
	}
	children := d.platforms(t, remote)
	for _, arch := range []string{"amd64", "arm64"} {
		want := e.manifestDigest(tag, arch)
		if children[arch] != want {
			t.Errorf("index child %s = %s, cache %s", arch, children[arch], want)
		}
		if got := d.digest(t, remote+"-"+arch); got != want {
			t.Errorf("arch tag %s-%s = %s, cache %s", remote, arch, got, want)
		}
	}
	if got := d.digest(t, remote+"-unknown"); got != "" {
		t.Errorf("a -unknown tag was pushed: %s", got)
	}
	// skopeo copies every platform back with the registry's bytes; the copy validates and has the cache's digest.
	copied := t.TempDir()
	args := append(append([]string{"copy", "-q", "--all", "--preserve-digests"}, d.skopeoArgs("src-")...), "docker://"+remote, "oci:"+copied+":copy")
	if out, err := exec.Command("skopeo", args...).CombinedOutput(); err != nil {
		t.Fatalf("skopeo %v: %v\n%s", args, err, out)
	}
	if raw, err := exec.Command("skopeo", "inspect", "--raw", "oci:"+copied+":copy").Output(); err != nil {
		t.Fatal(err)
	} else if got, want := fmt.Sprintf("sha256:%x", sha256.Sum256(raw)), e.rawDigest(tag); got != want {
		t.Errorf("skopeo's copy is %s, cache %s", got, want)
	}
	checkOCILayout(t, copied)

	proxy.uploads.Store(0)
	if r := push(); !strings.Contains(r.stderr, "already available on remote registry, skipping push") {
		t.Errorf("re-push did not say it skipped:\n%s", tail(r.stderr, 10))
	}
	if n := proxy.uploads.Load(); n != 0 {
		t.Errorf("re-push sent %d POST/PUT/PATCH requests", n)
	}
	mustLkpkg(t, e.repo.Dir, env, "--cert-file", d.caFile, "--cache", e.cache, "pkg", "push", "--nobuild", "--registry-creds", creds, "pkg/p")
	if n := proxy.uploads.Load(); n != 0 {
		t.Errorf("pkg push --nobuild of a pushed package sent %d POST/PUT/PATCH requests", n)
	}
}

// Two machines push one architecture each of the same tag: the registry's index holds both, each child the
// digest its machine built; pkg manifest makes a valid index from the per-arch tags alone.
func TestDistributionTwoMachines(t *testing.T) {
	d := newDistRegistry(t, distOptions{})
	env := noCredsEnv(t)
	root := []string{"--cert-file", d.caFile}
	arm := newBuildEnv(t)
	arm.pkg("pkg/m", "image: m\norg: "+d.host+"/lk\narches: [amd64, arm64]\n", pushDockerfile)
	amd := newBuildEnv(t)
	amd.repo = arm.repo
	tag := arm.tag("pkg/m")
	for _, m := range []struct {
		e    *buildEnv
		arch string
	}{{arm, "arm64"}, {amd, "amd64"}} {
		if r := distBuild(m.e, env, root, "--platforms", "linux/"+m.arch, "--push", "--registry-creds", d.creds(), "pkg/m"); r.code != 0 {
			t.Fatalf("%s machine: exit %d\n%s", m.arch, r.code, tail(r.stderr, 30))
		}
		checkOCILayout(t, m.e.cache)
	}
	got := d.platforms(t, tag)
	want := map[string]string{"arm64": arm.manifestDigest(tag, "arm64"), "amd64": amd.manifestDigest(tag, "amd64")}
	for arch, dg := range want {
		if got[arch] != dg {
			t.Errorf("merged index %s child %s, built %s", arch, got[arch], dg)
		}
		if a := d.digest(t, tag+"-"+arch); a != dg {
			t.Errorf("arch tag %s-%s = %s, built %s", tag, arch, a, dg)
		}
	}
	if len(got) != 2 {
		t.Errorf("merged index platforms %v, want amd64 and arm64", got)
	}
	checkRegistryOCI(t, tag, d.skopeoArgs("src-")...)

	// pkg manifest: only the per-arch images are under the new tag; it makes (and pushes) the index.
	base := d.host + "/lk/m:1"
	for _, m := range []struct {
		e    *buildEnv
		arch string
	}{{arm, "arm64"}, {amd, "amd64"}} {
		mustLkpkg(t, m.e.repo.Dir, env, "--cert-file", d.caFile, "--cache", m.e.cache, "cache", "push",
			"--registry-creds", d.creds(), "--remote-name", base+"-"+m.arch, tag+"-"+m.arch)
	}
	mustLkpkg(t, arm.repo.Dir, env, "--cert-file", d.caFile, "pkg", "manifest", "--org", d.host+"/lk", "--hash", "1",
		"--registry-creds", d.creds(), "pkg/m")
	if got := d.platforms(t, base); got["arm64"] != want["arm64"] || got["amd64"] != want["amd64"] {
		t.Errorf("pkg manifest index %v, want %v", got, want)
	}
	checkRegistryOCI(t, base, d.skopeoArgs("src-")...)
}

// Each way a push to the distribution registry can be refused says which registry and what to do; marking a
// plain-HTTP registry insecure (flag or registries.conf) makes it work. The plain registry listens on 127.0.0.2:
// 127.0.0.1 and localhost are allowed plain HTTP without being marked (as docker does), other addresses are not.
func TestDistributionPushErrors(t *testing.T) {
	d := newDistRegistry(t, distOptions{})
	plain := newDistRegistry(t, distOptions{ip: "127.0.0.2", plainHTTP: true})
	e := newBuildEnv(t)
	env := noCredsEnv(t)
	conf := filepath.Join(t.TempDir(), "registries.conf")
	writeFile(t, conf, "[[registry]]\nlocation = \""+plain.host+"\"\ninsecure = true\n")
	ca := []string{"--cert-file", d.caFile}
	authFile := filepath.Join(t.TempDir(), "config.json") // containers-auth.json, which is also docker's format
	writeFile(t, authFile, `{"auths":{"`+d.host+`":{"auth":"`+base64.StdEncoding.EncodeToString([]byte(d.user+":"+d.pass))+`"}}}`)
	for i, tc := range []struct {
		name      string
		reg       *distRegistry
		root, env []string
		args      []string
		want      []string // nil: the push succeeds
	}{
		{name: "wrong password", reg: d, root: ca, args: []string{"--registry-creds", d.host + "=" + d.user + ":not-the-password"},
			want: []string{"the registry " + d.host + ` refused access (HTTP 401) to user "` + d.user + `"`, "--registry-creds <registry>=<user>:<password>"}},
		{name: "missing credentials", reg: d, root: ca,
			want: []string{"the registry " + d.host + " refused access (HTTP 401) without a login", "credentials were looked for in", "--registry-creds"}},
		{name: "untrusted certificate", reg: d, args: []string{"--registry-creds", d.creds()},
			want: []string{"the TLS certificate of the registry " + d.host + " is not trusted", "--cert-file", "--insecure-registry " + d.host}},
		{name: "plain HTTP not marked insecure", reg: plain, args: []string{"--registry-creds", plain.creds()},
			want: []string{"the registry " + plain.host + " answers in plain HTTP", "--insecure-registry " + plain.host}},
		{name: "trusted with --cert-file", reg: d, root: ca, args: []string{"--registry-creds", d.creds()}},
		// A global flag after the command, as linuxkit's persistent flags allow.
		{name: "--cert-file after the command", reg: d, args: append([]string{"--registry-creds", d.creds()}, ca...)},
		{name: "self-signed, marked insecure", reg: d, args: []string{"--insecure-registry", d.host, "--registry-creds", d.creds()}},
		{name: "plain HTTP, --insecure-registry", reg: plain, args: []string{"--insecure-registry", plain.host, "--registry-creds", plain.creds()}},
		{name: "plain HTTP, insecure in registries.conf", reg: plain, env: []string{"CONTAINERS_REGISTRIES_CONF=" + conf},
			args: []string{"--registry-creds", plain.creds()}},
		{name: "credentials from REGISTRY_AUTH_FILE", reg: d, root: ca, env: []string{"REGISTRY_AUTH_FILE=" + authFile}},
		{name: "credentials from the docker config", reg: d, root: ca, env: []string{"DOCKER_CONFIG=" + filepath.Dir(authFile)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := fmt.Sprintf("%s/lib/bb:%d", tc.reg.host, i)
			args := append(append(append(append([]string{}, tc.root...), "--cache", e.cache, "cache", "push"), tc.args...),
				"--remote-name", ref, "busybox:fixture")
			r := lkpkg(t, e.repo.Dir, append(append([]string{}, env...), tc.env...), args...)
			if strings.Contains(r.stderr, "not-the-password") || strings.Contains(r.stderr, regPass) {
				t.Fatalf("a password appears in the output:\n%s", r.stderr)
			}
			if tc.want == nil {
				if r.code != 0 {
					t.Fatalf("exit %d\n%s", r.code, r.stderr)
				}
				if got := tc.reg.digest(t, ref); got != fixtureIndex {
					t.Errorf("registry has %s for %s, want %s", got, ref, fixtureIndex)
				}
				return
			}
			if r.code == 0 {
				t.Fatalf("pushed, want an error:\n%s", r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("the error lacks %q:\n%s", w, r.stderr)
				}
			}
		})
	}
}
