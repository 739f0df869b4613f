package e2e

import (
	"crypto/sha256"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// pushRegistry is an empty in-process registry on 127.0.0.1 demanding basic auth; it counts the requests that
// upload something (POST, PUT, PATCH), so tests can check that a re-push sends nothing.
type pushRegistry struct {
	host    string
	uploads atomic.Int64
}

func newPushRegistry(t testing.TB) *pushRegistry {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	pr := &pushRegistry{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != regUser || p != regPass {
			w.Header().Set("WWW-Authenticate", `Basic realm="lkpkg-test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
			pr.uploads.Add(1)
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	pr.host = strings.TrimPrefix(srv.URL, "http://")
	return pr
}

func (pr *pushRegistry) creds() string { return pr.host + "=" + regUser + ":" + regPass }

// digest is the digest of what ref names in the registry ("" when it names nothing), read with
// go-containerregistry, independently of lkpkg.
func (pr *pushRegistry) digest(t *testing.T, ref string) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(r, remote.WithAuth(&authn.Basic{Username: regUser, Password: regPass}))
	if err != nil {
		if strings.Contains(err.Error(), "404") || strings.Contains(err.Error(), "MANIFEST_UNKNOWN") {
			return ""
		}
		t.Fatalf("HEAD %s: %v", ref, err)
	}
	return d.Digest.String()
}

// index reads the index ref names: arch → child digest (attestations under "unknown").
func (pr *pushRegistry) index(t *testing.T, ref string) map[string]string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r, remote.WithAuth(&authn.Basic{Username: regUser, Password: regPass}))
	if err != nil {
		t.Fatalf("index %s: %v", ref, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(idx, validate.Fast); err != nil {
		t.Errorf("the registry's %s does not validate (children, sizes, digests): %v", ref, err)
	}
	out := map[string]string{}
	for _, m := range im.Manifests {
		if m.Platform != nil {
			out[m.Platform.Architecture] = m.Digest.String()
		}
		// every child is in the repository too
		if _, err := remote.Head(r.Context().Digest(m.Digest.String()), remote.WithAuth(&authn.Basic{Username: regUser, Password: regPass})); err != nil {
			t.Errorf("child %s of %s is not in the registry: %v", m.Digest, ref, err)
		}
	}
	return out
}

// skopeoRawDigest reads ref back with skopeo, the tool users have, and returns the digest of the bytes.
func skopeoRawDigest(t *testing.T, ref string) string {
	t.Helper()
	out, err := exec.Command("skopeo", "inspect", "--raw", "--tls-verify=false", "--creds", regUser+":"+regPass,
		"docker://"+ref).Output()
	if err != nil {
		t.Fatalf("skopeo inspect --raw docker://%s: %v", ref, err)
	}
	return fmt.Sprintf("sha256:%x", sha256.Sum256(out))
}

var noCredsEnv = func(t testing.TB) []string {
	return []string{"DOCKER_CONFIG=" + t.TempDir(), "HOME=" + t.TempDir()}
}

const pushDockerfile = "FROM busybox:fixture\nRUN uname -m > /arch\n"

func TestPushTwoArchAndRepush(t *testing.T) {
	reg := newPushRegistry(t)
	e := newBuildEnv(t)
	e.pkg("pkg/p", "image: p\norg: "+reg.host+"/lk\narches: [amd64, arm64]\n", pushDockerfile)
	env := noCredsEnv(t)
	r := e.mustBuild(env, "--push", "--registry-creds", reg.creds(), "pkg/p")
	tag := e.tag("pkg/p")
	if strings.Contains(r.stderr, regPass) || strings.Contains(r.stdout, regPass) {
		t.Fatal("the password appears in lkpkg's output")
	}
	if got, want := reg.digest(t, tag), e.rawDigest(tag); got != want {
		t.Fatalf("remote index %s, cache %s\n%s", got, want, tail(r.stderr, 20))
	}
	if got, want := skopeoRawDigest(t, tag), e.rawDigest(tag); got != want {
		t.Errorf("skopeo reads %s, cache %s", got, want)
	}
	// skopeo copies it back, every platform, keeping digests.
	copied := t.TempDir()
	if out, err := exec.Command("skopeo", "copy", "--all", "--preserve-digests", "--src-tls-verify=false",
		"--src-creds", regUser+":"+regPass, "docker://"+tag, "oci:"+copied+":copy").CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy --all --preserve-digests: %v\n%s", err, out)
	}
	if raw, err := exec.Command("skopeo", "inspect", "--raw", "oci:"+copied+":copy").Output(); err != nil {
		t.Fatal(err)
	} else if got, want := fmt.Sprintf("sha256:%x", sha256.Sum256(raw)), e.rawDigest(tag); got != want {
		t.Errorf("skopeo's copy is %s, cache %s", got, want)
	}
	checkOCILayout(t, copied)
	children := reg.index(t, tag)
	for _, arch := range []string{"amd64", "arm64"} {
		want := e.manifestDigest(tag, arch)
		if children[arch] != want {
			t.Errorf("index child %s = %s, cache %s", arch, children[arch], want)
		}
		if got := reg.digest(t, tag+"-"+arch); got != want {
			t.Errorf("arch tag %s-%s = %s, cache %s", tag, arch, got, want)
		}
	}
	if got := reg.digest(t, tag+"-unknown"); got != "" {
		t.Errorf("a -unknown tag was pushed: %s", got)
	}

	// Re-push: the registry has it all; nothing is uploaded.
	reg.uploads.Store(0)
	r = e.mustBuild(env, "--push", "--registry-creds", reg.creds(), "pkg/p")
	if !strings.Contains(r.stderr, "already available on remote registry, skipping push") {
		t.Errorf("re-push did not say it skipped:\n%s", tail(r.stderr, 10))
	}
	if n := reg.uploads.Load(); n != 0 {
		t.Errorf("re-push uploaded %d times", n)
	}
	// pkg push is the same as build --push; --nobuild pushes from the cache.
	reg.uploads.Store(0)
	mustLkpkg(t, e.repo.Dir, env, "--cache", e.cache, "pkg", "push", "--nobuild", "--registry-creds", reg.creds(), "pkg/p")
	if n := reg.uploads.Load(); n != 0 {
		t.Errorf("pkg push --nobuild of a pushed package uploaded %d times", n)
	}

	t.Run("wrong password", func(t *testing.T) {
		r := lkpkg(t, e.repo.Dir, env, "--cache", e.cache, "pkg", "push", "--nobuild", "--registry-creds",
			reg.host+"="+regUser+":not-the-password", "pkg/p")
		if r.code == 0 || !strings.Contains(r.stderr, "credentials were looked for in") || !strings.Contains(r.stderr, reg.host) {
			t.Fatalf("exit %d, want a clear auth error naming the registry:\n%s", r.code, tail(r.stderr, 5))
		}
		if strings.Contains(r.stderr, "not-the-password") {
			t.Fatal("the password appears in the error")
		}
	})

	t.Run("release", func(t *testing.T) {
		rel := reg.host + "/lk/p:v1.0"
		r := e.mustBuild(env, "--push", "--release", "v1.0", "--registry-creds", reg.creds(), "pkg/p")
		if !strings.Contains(r.stderr, "release of") {
			t.Errorf("no release message:\n%s", tail(r.stderr, 10))
		}
		if got, want := reg.digest(t, rel), e.rawDigest(tag); got != want {
			t.Errorf("release tag %s, want %s", got, want)
		}
		if got, want := reg.digest(t, rel+"-arm64"), e.manifestDigest(tag, "arm64"); got != want {
			t.Errorf("release arch tag %s, want %s", got, want)
		}
	})

	t.Run("release from the git tag, only when asked", func(t *testing.T) {
		e.repo.Git("tag", "v2.0")
		e.mustBuild(env, "--push", "--registry-creds", reg.creds(), "pkg/p")
		if got := reg.digest(t, reg.host+"/lk/p:v2.0"); got != "" {
			t.Fatalf("a git tag became a release without --release-from-git-tag: %s", got)
		}
		e.mustBuild(env, "--push", "--release-from-git-tag", "--registry-creds", reg.creds(), "pkg/p")
		if got, want := reg.digest(t, reg.host+"/lk/p:v2.0"), e.rawDigest(tag); got != want {
			t.Errorf("release from git tag %s, want %s", got, want)
		}
		e.repo.Git("tag", "v2.0.1")
		r := e.build(env, "--push", "--release-from-git-tag", "--registry-creds", reg.creds(), "pkg/p")
		if r.code == 0 || !strings.Contains(r.stderr, "HEAD has several tags (v2.0, v2.0.1)") {
			t.Errorf("two tags on HEAD: exit %d\n%s", r.code, tail(r.stderr, 5))
		}
	})

	t.Run("remote-tag", func(t *testing.T) {
		same := reg.host + "/lk/p:latest"
		mustLkpkg(t, e.repo.Dir, env, "pkg", "remote-tag", "--registry-creds", reg.creds(), tag, same)
		if got, want := reg.digest(t, same), e.rawDigest(tag); got != want {
			t.Errorf("same-repository tag %s, want %s", got, want)
		}
		other := reg.host + "/elsewhere/p:copy"
		mustLkpkg(t, e.repo.Dir, env, "pkg", "remote-tag", "--registry-creds", reg.creds(), tag, other)
		if got, want := reg.digest(t, other), e.rawDigest(tag); got != want {
			t.Errorf("other-repository tag %s, want %s", got, want)
		}
		if c := reg.index(t, other); c["arm64"] != e.manifestDigest(tag, "arm64") {
			t.Errorf("copied index children %v", c)
		}
		reg.uploads.Store(0)
		r := lkpkg(t, e.repo.Dir, env, "pkg", "remote-tag", "--registry-creds", reg.creds(), tag, other)
		if r.code != 0 || !strings.Contains(r.stderr, "nothing to do") || reg.uploads.Load() != 0 {
			t.Errorf("second remote-tag: exit %d, %d uploads\n%s", r.code, reg.uploads.Load(), r.stderr)
		}
	})

	t.Run("cache push", func(t *testing.T) {
		dst := reg.host + "/lk/cached:1"
		mustLkpkg(t, e.repo.Dir, env, "--cache", e.cache, "cache", "push", "--registry-creds", reg.creds(),
			"--remote-name", dst, "--with-arch-tags", tag)
		if got, want := reg.digest(t, dst), e.rawDigest(tag); got != want {
			t.Errorf("cache push: %s, want %s", got, want)
		}
		if got, want := reg.digest(t, dst+"-amd64"), e.manifestDigest(tag, "amd64"); got != want {
			t.Errorf("cache push arch tag: %s, want %s", got, want)
		}
		// A single image entry, without --override, is not pushed over an existing tag.
		mustLkpkg(t, e.repo.Dir, env, "--cache", e.cache, "cache", "push", "--registry-creds", reg.creds(),
			"--remote-name", dst, tag+"-arm64")
		if got, want := reg.digest(t, dst), e.rawDigest(tag); got != want {
			t.Errorf("cache push without --override replaced the tag: %s, want %s", got, want)
		}
	})

	t.Run("pkg manifest", func(t *testing.T) {
		// Only the per-arch images are in the registry; pkg manifest makes the index from them.
		base := reg.host + "/lk/p:1"
		for _, arch := range []string{"amd64", "arm64"} {
			mustLkpkg(t, e.repo.Dir, env, "--cache", e.cache, "cache", "push", "--registry-creds", reg.creds(),
				"--remote-name", base+"-"+arch, tag+"-"+arch)
		}
		r := lkpkg(t, e.repo.Dir, env, "pkg", "manifest", "--org", reg.host+"/lk", "--hash", "1", "--registry-creds", reg.creds(), "pkg/p")
		if r.code != 0 {
			t.Fatalf("pkg manifest: exit %d\n%s", r.code, r.stderr)
		}
		c := reg.index(t, base)
		checkRegistryOCI(t, base, "--src-tls-verify=false", "--src-creds", regUser+":"+regPass)
		for _, arch := range []string{"amd64", "arm64"} {
			if c[arch] != e.manifestDigest(tag, arch) {
				t.Errorf("pkg manifest index %s child %s, want %s", arch, c[arch], e.manifestDigest(tag, arch))
			}
		}
		reg.uploads.Store(0)
		r = lkpkg(t, e.repo.Dir, env, "pkg", "manifest", "--org", reg.host+"/lk", "--hash", "1", "--registry-creds", reg.creds(), "pkg/p")
		if r.code != 0 || !strings.Contains(r.stderr, "up to date") || reg.uploads.Load() != 0 {
			t.Errorf("second pkg manifest: exit %d, %d uploads\n%s", r.code, reg.uploads.Load(), r.stderr)
		}
	})
}

// Two machines, each building and pushing its own architecture of one tag: the registry's index ends up with both.
func TestPushFromTwoCachesConverges(t *testing.T) {
	reg := newPushRegistry(t)
	env := noCredsEnv(t)
	arm := newBuildEnv(t)
	arm.pkg("pkg/m", "image: m\norg: "+reg.host+"/lk\narches: [amd64, arm64]\n", pushDockerfile)
	tag := arm.tag("pkg/m")
	if r := arm.build(env, "--platforms", "linux/arm64", "--push", "pkg/m"); r.code == 0 ||
		!strings.Contains(r.stderr, "credentials were looked for in") || !strings.Contains(r.stderr, reg.host) {
		t.Fatalf("push without credentials: exit %d, want a clear error naming the registry\n%s", r.code, tail(r.stderr, 5))
	}
	arm.mustBuild(env, "--platforms", "linux/arm64", "--push", "--registry-creds", reg.creds(), "pkg/m")
	amd := newBuildEnv(t)
	amd.repo = arm.repo
	amd.mustBuild(env, "--platforms", "linux/amd64", "--push", "--registry-creds", reg.creds(), "pkg/m")

	c := reg.index(t, tag)
	checkRegistryOCI(t, tag, "--src-tls-verify=false", "--src-creds", regUser+":"+regPass)
	if want := arm.manifestDigest(tag, "arm64"); c["arm64"] != want {
		t.Errorf("arm64 child %s, want %s (children %v)", c["arm64"], want, c)
	}
	if want := amd.manifestDigest(tag, "amd64"); c["amd64"] != want {
		t.Errorf("amd64 child %s, want %s (children %v)", c["amd64"], want, c)
	}
	for arch, e := range map[string]*buildEnv{"arm64": arm, "amd64": amd} {
		if got, want := reg.digest(t, tag+"-"+arch), e.manifestDigest(tag, arch); got != want {
			t.Errorf("arch tag %s = %s, want %s", arch, got, want)
		}
	}
	// The first machine pushes again: the registry's index already holds its platform, so nothing changes.
	reg.uploads.Store(0)
	before := reg.digest(t, tag)
	r := lkpkg(t, arm.repo.Dir, env, "--cache", arm.cache, "pkg", "push", "--nobuild", "--registry-creds", reg.creds(), "pkg/m")
	if r.code != 0 || !strings.Contains(r.stderr, "already holds every local platform") {
		t.Errorf("re-push from the first machine: exit %d\n%s", r.code, tail(r.stderr, 5))
	}
	if n := reg.uploads.Load(); n != 0 || reg.digest(t, tag) != before {
		t.Errorf("re-push from the first machine uploaded %d times or changed the index", n)
	}
}

func TestPushRefusals(t *testing.T) {
	reg := newPushRegistry(t)
	env := noCredsEnv(t)
	e := newBuildEnv(t)
	e.pkg("pkg/d", "image: d\norg: "+reg.host+"/lk\narches: [amd64]\n", pushDockerfile)
	e.repo.Write("pkg/d/uncommitted", "x")
	r := e.build(env, "--push", "--registry-creds", reg.creds(), "pkg/d")
	if r.code == 0 || !strings.Contains(r.stderr, "refusing to push dirty package") {
		t.Errorf("dirty package: exit %d\n%s", r.code, tail(r.stderr, 5))
	}
	if n := reg.uploads.Load(); n != 0 {
		t.Errorf("a dirty package caused %d uploads", n)
	}
	for _, args := range [][]string{{"--nobuild"}, {"--release", "v1"}, {"--push", "--nobuild", "--force"}} {
		r := e.build(env, append(args, "pkg/d")...)
		if r.code != 1 {
			t.Errorf("%v: exit %d, want 1 (a usage error, as linuxkit)\n%s", args, r.code, r.stderr)
		}
	}
}

// A registry with a self-signed certificate: refused until its CA is given (--cert-file) or it is marked insecure.
func TestPushTLS(t *testing.T) {
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != regUser || p != regPass {
			w.Header().Set("WWW-Authenticate", `Basic realm="lkpkg-test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "https://")
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newBuildEnv(t)
	env := noCredsEnv(t)
	creds := host + "=" + regUser + ":" + regPass
	push := func(root []string, args ...string) result {
		full := append(append(append([]string{}, root...), "--cache", e.cache, "cache", "push", "--registry-creds", creds), args...)
		return lkpkg(t, e.repo.Dir, env, append(full, "busybox:fixture")...)
	}
	if r := push(nil, "--remote-name", host+"/lib/bb:1"); r.code == 0 || !strings.Contains(r.stderr, "certificate") {
		t.Errorf("untrusted certificate: exit %d\n%s", r.code, r.stderr)
	}
	if r := push([]string{"--cert-file", ca}, "--remote-name", host+"/lib/bb:1"); r.code != 0 {
		t.Errorf("--cert-file: exit %d\n%s", r.code, r.stderr)
	}
	if r := push(nil, "--insecure-registry", host, "--remote-name", host+"/lib/bb:2"); r.code != 0 {
		t.Errorf("--insecure-registry: exit %d\n%s", r.code, r.stderr)
	}
	out, err := exec.Command("skopeo", "inspect", "--raw", "--tls-verify=false", "--creds", regUser+":"+regPass,
		"docker://"+host+"/lib/bb:2").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("sha256:%x", sha256.Sum256(out)); got != fixtureIndex {
		t.Errorf("pushed fixture is %s, want %s", got, fixtureIndex)
	}
}

// TestRePushUploadsNothing: pushing a 3-arch package again to a registry that has it sends no blob or manifest.
func TestRePushUploadsNothing(t *testing.T) {
	env := noCredsEnv(t)
	e := newBuildEnv(t)
	e.pkg("pkg/again", "image: again\norg: example.org/lk\narches: [amd64, arm64, s390x]\n",
		"FROM busybox:fixture\nRUN uname -m > /arch\n")
	e.mustBuild(env, "pkg/again")
	tag := e.tag("pkg/again")
	reg := newPushRegistry(t)
	push := []string{"--cache", e.cache, "cache", "push", "--registry-creds", reg.creds(), "--remote-name", reg.host + "/lk/again:1", "--override", tag}
	mustLkpkg(t, e.repo.Dir, env, push...)
	reg.uploads.Store(0)
	mustLkpkg(t, e.repo.Dir, env, push...)
	if n := reg.uploads.Load(); n != 0 {
		t.Errorf("re-push uploaded %d times", n)
	}
}

// BenchmarkPush compares, in the same run, a 3-arch push of a cache entry with `skopeo copy --all
// --preserve-digests` of the same entry to a fresh loopback registry each, and times a re-push where everything is
// present. It reports the ratio lkpkg/skopeo (target <= 1.0) and the re-push time (target <= 0.2 s):
// go test -tags '…' -run '^$' -bench Push ./e2e/
func BenchmarkPush(b *testing.B) {
	env := noCredsEnv(b)
	e := newBuildEnv(b)
	e.pkg("pkg/perf", "image: perf\norg: example.org/lk\narches: [amd64, arm64, s390x]\n",
		"FROM busybox:fixture\nRUN head -c 4000000 /dev/urandom > /blob && uname -m > /arch\n")
	e.mustBuild(env, "pkg/perf")
	tag := e.tag("pkg/perf")
	var lk, skopeo, repush time.Duration
	for i := 0; i < b.N; i++ {
		sreg, lreg := newPushRegistry(b), newPushRegistry(b)
		start := time.Now()
		if out, err := exec.Command("skopeo", "copy", "--all", "--preserve-digests", "--dest-tls-verify=false",
			"--dest-creds", regUser+":"+regPass, e.ociRef(tag), "docker://"+sreg.host+"/lk/perf:1").CombinedOutput(); err != nil {
			b.Fatalf("skopeo copy: %v\n%s", err, out)
		}
		skopeo += time.Since(start)
		push := []string{"--cache", e.cache, "cache", "push", "--registry-creds", lreg.creds(), "--remote-name", lreg.host + "/lk/perf:1", "--override", tag}
		start = time.Now()
		mustLkpkg(b, e.repo.Dir, env, push...)
		lk += time.Since(start)
		start = time.Now()
		mustLkpkg(b, e.repo.Dir, env, push...)
		repush += time.Since(start)
	}
	b.ReportMetric(lk.Seconds()/skopeo.Seconds(), "lkpkg/skopeo")
	b.ReportMetric(repush.Seconds()/float64(b.N), "repush-s")
}

func TestCacheCleanPublishedOnly(t *testing.T) {
	reg := newPushRegistry(t)
	e := newBuildEnv(t)
	env := noCredsEnv(t)
	e.pkg("pkg/pub", "image: pub\norg: "+reg.host+"/lk\narches: [amd64]\n", pushDockerfile)
	e.pkg("pkg/local", "image: local\norg: "+reg.host+"/lk\narches: [amd64]\n", pushDockerfile+"RUN true\n")
	e.mustBuild(env, "--push", "--registry-creds", reg.creds(), "pkg/pub")
	e.mustBuild(env, "pkg/local")
	pub, local := e.tag("pkg/pub"), e.tag("pkg/local")
	mustLkpkg(t, e.repo.Dir, env, "--cache", e.cache, "cache", "clean", "--published-only", "--registry-creds", reg.creds())
	ls := mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "ls")
	for _, gone := range []string{pub + "\t", pub + "-amd64\t"} {
		if strings.Contains(ls, gone) {
			t.Errorf("published %q still in the cache:\n%s", gone, ls)
		}
	}
	for _, kept := range []string{local + "\t", local + "-amd64\t", "busybox:fixture\t"} {
		if !strings.Contains(ls, kept) {
			t.Errorf("unpublished %q was removed:\n%s", kept, ls)
		}
	}
	// The local package's blobs (shared base layer included) are intact: it still exports.
	if got := e.file(local, "amd64", "arch"); got != "x86_64\n" {
		t.Errorf("kept entry after clean: %q", got)
	}
}
