package e2e

import (
	"encoding/base64"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const (
	regUser = "lkpkg"
	regPass = "s3cret-pw"
)

// authRegistry serves an in-process registry on 127.0.0.1 that demands basic auth, holding the fixture as
// library/busybox:fixture. It returns the host:port.
func authRegistry(t *testing.T) string {
	host, _ := authRegistryWithStop(t)
	return host
}

// authRegistryWithStop is authRegistry plus a function that takes the registry off the network.
func authRegistryWithStop(t *testing.T) (string, func()) {
	t.Helper()
	host, _, stop := countingAuthRegistry(t)
	return host, stop
}

// countingAuthRegistry is authRegistryWithStop that also counts the requests that reach it.
func countingAuthRegistry(t *testing.T) (string, *atomic.Int64, func()) {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if u, p, ok := r.BasicAuth(); !ok || u != regUser || p != regPass {
			w.Header().Set("WWW-Authenticate", `Basic realm="lkpkg-test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	lp, err := layout.FromPath("../examples/busybox-oci")
	if err != nil {
		t.Fatal(err)
	}
	top, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	idx, err := top.ImageIndex(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host+"/library/busybox:fixture", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx, remote.WithAuth(&authn.Basic{Username: regUser, Password: regPass})); err != nil {
		t.Fatal(err)
	}
	return host, &requests, srv.Close
}

func TestBuildFromRegistryWithAuth(t *testing.T) {
	host := authRegistry(t)
	e := newBuildEnv(t)
	e.pkg("pkg/reg", "image: reg\narches: [amd64, arm64]\n", "FROM "+host+"/library/busybox:fixture\nRUN uname -m > /arch\n")
	tag := e.tag("pkg/reg")
	basic := base64.StdEncoding.EncodeToString([]byte(regUser + ":" + regPass))
	authJSON := `{"auths":{"` + host + `":{"auth":"` + basic + `"}}}`
	dockerDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dockerDir, "config.json"), []byte(authJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	authFile := filepath.Join(t.TempDir(), "auth.json")
	if err := os.WriteFile(authFile, []byte(authJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	noCreds := []string{"DOCKER_CONFIG=" + t.TempDir(), "HOME=" + t.TempDir()}

	for _, tc := range []struct {
		name string
		env  []string
		args []string
		ok   bool
	}{
		{"no credentials", noCreds, nil, false},
		{"wrong password", noCreds, []string{"--registry-creds", host + "=" + regUser + ":wrong"}, false},
		{"--registry-creds user:password", noCreds, []string{"--registry-creds", host + "=" + regUser + ":" + regPass}, true},
		{"--registry-creds base64", noCreds, []string{"--registry-creds", host + "=" + basic}, true},
		{"docker config.json", []string{"DOCKER_CONFIG=" + dockerDir, "HOME=" + t.TempDir()}, nil, true},
		{"REGISTRY_AUTH_FILE", append([]string{"REGISTRY_AUTH_FILE=" + authFile}, noCreds...), nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.build(tc.env, append(tc.args, "--force", "pkg/reg")...)
			if strings.Contains(r.stderr, regPass) || strings.Contains(r.stdout, regPass) {
				t.Fatal("the password appears in lkpkg's output")
			}
			if !tc.ok {
				if r.code == 0 || !strings.Contains(r.stderr, "credentials were looked for in") {
					t.Fatalf("exit %d, want a clear auth error:\n%s", r.code, tail(r.stderr, 10))
				}
				return
			}
			if r.code != 0 {
				t.Fatalf("exit %d:\n%s", r.code, tail(r.stderr, 20))
			}
			if got := e.file(tag, "arm64", "arch"); got != "aarch64\n" {
				t.Fatalf("arm64 image from the registry base: %q", got)
			}
		})
	}
}

func TestCachePullAndPrecache(t *testing.T) {
	host := authRegistry(t)
	creds := host + "=" + regUser + ":" + regPass
	e := newBuildEnv(t)
	noCreds := []string{"DOCKER_CONFIG=" + t.TempDir(), "HOME=" + t.TempDir()}

	ref := host + "/library/busybox:fixture"
	mustLkpkg(t, e.repo.Dir, noCreds, "--cache", e.cache, "cache", "pull", "--registry-creds", creds, ref)
	checkOCILayout(t, e.cache)
	ls := mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "ls")
	for _, want := range []string{ref + "\t" + fixtureIndex, ref + "-amd64\t", ref + "-arm64\t", ref + "-s390x\t"} {
		if !strings.Contains(ls, want) {
			t.Errorf("cache ls lacks %q:\n%s", want, ls)
		}
	}
	r := lkpkg(t, e.repo.Dir, noCreds, "--cache", e.cache, "cache", "pull", host+"/library/busybox:fixture")
	if r.code == 0 || !strings.Contains(r.stderr, "refused access") || strings.Contains(r.stderr, regPass) {
		t.Errorf("pull without credentials: exit %d %s", r.code, r.stderr)
	}

	// --precache-images puts a registry FROM image into a fresh cache, and the build reads it from there.
	e2 := newBuildEnv(t)
	e2.pkg("pkg/pre", "image: pre\narches: [arm64]\n", "FROM "+ref+"\nRUN uname -m > /arch\n")
	e2.mustBuild(noCreds, "--precache-images", "--registry-creds", creds, "pkg/pre")
	if ls := mustLkpkg(t, e2.repo.Dir, nil, "--cache", e2.cache, "cache", "ls"); !strings.Contains(ls, ref+"\t"+fixtureIndex) {
		t.Errorf("--precache-images did not cache the base image:\n%s", ls)
	}
	if got := e2.file(e2.tag("pkg/pre"), "arm64", "arch"); got != "aarch64\n" {
		t.Errorf("arch %q", got)
	}
}

func TestBuildPullsInsteadOfBuilding(t *testing.T) {
	host := authRegistry(t)
	creds := host + "=" + regUser + ":" + regPass
	built := newBuildEnv(t)
	built.pkg("pkg/p", "image: p\norg: "+host+"/lk\narches: [amd64, arm64]\n", "FROM busybox:fixture\nRUN uname -m > /arch\n")
	built.mustBuild(nil, "pkg/p")
	tag := built.tag("pkg/p")
	// Publish what was built with an independent client (go-containerregistry), as a push would.
	lp, err := layout.FromPath(built.cache)
	if err != nil {
		t.Fatal(err)
	}
	root := rootDigest(t, built, tag)
	idx, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	pkgIdx, err := idx.ImageIndex(root)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(tag, name.Insecure)
	if err := remote.WriteIndex(ref, pkgIdx, remote.WithAuth(&authn.Basic{Username: regUser, Password: regPass})); err != nil {
		t.Fatal(err)
	}

	// Same repository, fresh cache: --pull fetches instead of building.
	fresh := newBuildEnv(t)
	fresh.repo = built.repo
	r := fresh.mustBuild(nil, "--pull", "--registry-creds", creds, "pkg/p")
	if !strings.Contains(r.stderr, "found on registry; pulled into the cache") || strings.Contains(r.stderr, "RUN uname") {
		t.Fatalf("--pull built instead of pulling:\n%s", tail(r.stderr, 15))
	}
	if got := fresh.file(tag, "arm64", "arch"); got != "aarch64\n" {
		t.Errorf("pulled arm64 image: %q", got)
	}
	// A tag the registry lacks is built.
	built.repo.Write("pkg/p/new", "x")
	built.repo.Commit()
	r = fresh.mustBuild(nil, "--pull", "--registry-creds", creds, "pkg/p")
	if strings.Contains(r.stderr, "found on registry") || !strings.Contains(r.stderr, "Building") {
		t.Fatalf("a tag missing from the registry was not built:\n%s", tail(r.stderr, 15))
	}
}

func TestBuildDependsFromRegistry(t *testing.T) {
	host := authRegistry(t)
	e := newBuildEnv(t)
	e.repo.Write(".gitignore", "deps/\n")
	dep := host + "/library/busybox@" + fixtureIndex
	e.pkg("pkg/d", "image: d\narches: [s390x]\ndepends:\n  docker-images:\n    target-dir: deps\n    list: [\""+dep+"\"]\n",
		"FROM busybox:fixture\nCOPY deps /deps\n")
	e.mustBuild(nil, "--registry-creds", host+"="+regUser+":"+regPass, "pkg/d")
	var inspect struct{ Architecture string }
	e.skopeoJSON(&inspect, "docker-archive:"+colonFree(t, e.repo.Path("pkg/d/deps/busybox@"+fixtureIndex+".tar")))
	if inspect.Architecture != "s390x" {
		t.Fatalf("depends archive from the registry: architecture %q", inspect.Architecture)
	}
}

// Once a FROM image is in the linuxkit cache, builds need no registry (air-gapped); --ignore-cached goes to it.
func TestBuildFromCacheOfflineAndIgnoreCached(t *testing.T) {
	host, stop := authRegistryWithStop(t)
	e := newBuildEnv(t)
	ref := host + "/library/busybox:fixture"
	mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "pull", "--registry-creds", host+"="+regUser+":"+regPass, ref)
	stop()
	e.pkg("pkg/off", "image: off\narches: [amd64, s390x]\n", "FROM "+ref+"\nRUN uname -m > /arch\n")
	e.mustBuild(nil, "pkg/off")
	if got := e.file(e.tag("pkg/off"), "s390x", "arch"); got != "s390x\n" {
		t.Fatalf("arch %q", got)
	}
	if r := e.build(nil, "--ignore-cached", "--force", "pkg/off"); r.code == 0 || !strings.Contains(r.stderr, host) {
		t.Fatalf("--ignore-cached with the registry gone must fail naming it: exit %d\n%s", r.code, tail(r.stderr, 8))
	}
}

func rootDigest(t *testing.T, e *buildEnv, tag string) v1.Hash {
	t.Helper()
	h, err := v1.NewHash(e.rawDigest(tag))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// --mirror: with an empty cache and Docker Hub out of reach, FROM busybox:fixture is read from the mirror named
// for docker.io (BuildKit's pull), and cache pull finds it through a mirror for every registry (lkpkg's own
// pull). LINUXKIT_MIRROR works as the flag does.
func TestBuildAndPullFromMirror(t *testing.T) {
	host := authRegistry(t)
	e := newBuildEnv(t)
	e.cache = filepath.Join(t.TempDir(), "empty-cache")
	e.pkg("pkg/m", "image: m\narches: [amd64, arm64]\n", "FROM busybox:fixture\nRUN uname -m > /arch\n")
	creds := []string{"--registry-creds", host + "=" + regUser + ":" + regPass}
	r := e.build(nil, append(creds, "--mirror", "docker.io=http://"+host, "pkg/m")...)
	if r.code != 0 {
		t.Fatalf("build through the mirror: exit %d\n%s", r.code, tail(r.stderr, 20))
	}
	if got := e.file(e.tag("pkg/m"), "arm64", "arch"); got != "aarch64\n" {
		t.Errorf("arm64 image built on the mirror's base: %q", got)
	}

	cache := filepath.Join(t.TempDir(), "pulled")
	env := []string{"LINUXKIT_MIRROR=http://" + host}
	mustLkpkg(t, e.repo.Dir, env, append([]string{"--cache", cache, "cache", "pull"}, append(creds, "busybox:fixture")...)...)
	if ls := mustLkpkg(t, e.repo.Dir, nil, "--cache", cache, "cache", "ls"); !strings.Contains(ls, "docker.io/library/busybox:fixture") {
		t.Errorf("cache pull through LINUXKIT_MIRROR did not land:\n%s", ls)
	}
	checkOCILayout(t, cache)

	bad := lkpkg(t, e.repo.Dir, nil, "--mirror", "docker.io=mirror.example", "pkg", "show-tag", "pkg/m")
	if bad.code != 0 {
		t.Fatalf("show-tag must not care about mirrors: %s", bad.stderr)
	}
	bad = e.build(nil, "--mirror", "docker.io=mirror.example", "--force", "pkg/m")
	if bad.code == 0 || !strings.Contains(bad.stderr, "want [<registry>=]http(s)://") {
		t.Errorf("a mirror without a scheme: exit %d\n%s", bad.code, tail(bad.stderr, 5))
	}
}

// publish pushes the package index tag names in e's cache to its registry with an independent client
// (go-containerregistry), as another machine's push would.
func publish(t *testing.T, e *buildEnv, tag string) { publishAs(t, e, tag, tag) }

// publishAs pushes the index tag names in e's cache as to.
func publishAs(t *testing.T, e *buildEnv, tag, to string) {
	t.Helper()
	lp, err := layout.FromPath(e.cache)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	pkgIdx, err := idx.ImageIndex(rootDigest(t, e, tag))
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(to, name.Insecure)
	if err := remote.WriteIndex(ref, pkgIdx, remote.WithAuth(&authn.Basic{Username: regUser, Password: regPass})); err != nil {
		t.Fatal(err)
	}
}

// As linuxkit does, a tag the cache lacks is looked up in its registry: found there, it is not built (and not
// pulled unless --pull); a registry that cannot be reached costs one line and the package is built; --offline
// (or LKPKG_OFFLINE=1) sends no request at all.
func TestBuildLooksUpRegistry(t *testing.T) {
	host, requests, stop := countingAuthRegistry(t)
	creds := []string{"--registry-creds", host + "=" + regUser + ":" + regPass}
	built := newBuildEnv(t)
	built.pkg("pkg/p", "image: p\norg: "+host+"/lk\narches: [amd64, arm64]\n", "FROM busybox:fixture\nRUN uname -m > /arch\n")
	built.mustBuild(nil, "pkg/p")
	tag := built.tag("pkg/p")
	publish(t, built, tag)

	fresh := newBuildEnv(t)
	fresh.repo = built.repo
	r := fresh.mustBuild(nil, append(creds, "pkg/p")...)
	if !strings.Contains(r.stderr, "found on registry for [linux/amd64 linux/arm64]; not building") || strings.Contains(r.stderr, "RUN uname") {
		t.Fatalf("a tag in the registry was built:\n%s", tail(r.stderr, 15))
	}
	if r := lkpkg(t, fresh.repo.Dir, nil, "--cache", fresh.cache, "cache", "ls"); strings.Contains(r.stdout, tag) {
		t.Fatalf("found on registry without --pull must leave the cache alone:\n%s", r.stdout)
	}
	r = fresh.mustBuild(nil, append(creds, "--pull", "pkg/p")...)
	if !strings.Contains(r.stderr, "found on registry; pulled into the cache") || strings.Contains(r.stderr, "RUN uname") {
		t.Fatalf("--pull did not pull:\n%s", tail(r.stderr, 15))
	}
	if got := fresh.file(tag, "arm64", "arch"); got != "aarch64\n" {
		t.Errorf("pulled arm64 image: %q", got)
	}

	// A dirty tag is never looked up.
	before := requests.Load()
	built.repo.Write("pkg/p/dirty", "x")
	dirty := newBuildEnv(t)
	dirty.repo = built.repo
	dirty.mustBuild(nil, append(creds, "pkg/p")...)
	if n := requests.Load() - before; n != 0 {
		t.Errorf("building a dirty tag sent %d requests to the registry", n)
	}
	built.repo.Commit()

	// --offline and LKPKG_OFFLINE=1: built, and not one request reaches the registry.
	for _, how := range []struct {
		env  []string
		args []string
	}{{nil, []string{"--offline"}}, {[]string{"LKPKG_OFFLINE=1"}, nil}} {
		off := newBuildEnv(t)
		off.repo = built.repo
		off.repo.Write("pkg/p/new", strings.Join(how.env, "")+strings.Join(how.args, ""))
		off.repo.Commit()
		before := requests.Load()
		r := off.mustBuild(how.env, append(append(creds, how.args...), "pkg/p")...)
		if n := requests.Load() - before; n != 0 || !strings.Contains(r.stderr, "Building") {
			t.Errorf("%v %v: %d requests reached the registry (want 0), built: %v", how.env, how.args, n, strings.Contains(r.stderr, "Building"))
		}
	}

	// The registry gone: one line says so, the package is built.
	stop()
	gone := newBuildEnv(t)
	gone.repo = built.repo
	start := time.Now()
	r = gone.mustBuild(nil, append(creds, "pkg/p")...)
	if strings.Count(r.stderr, "Registry not reachable") != 1 || !strings.Contains(r.stderr, "Building") {
		t.Fatalf("with the registry stopped, want one note and a build:\n%s", tail(r.stderr, 15))
	}
	t.Logf("build with the registry stopped took %s", time.Since(start))
}
