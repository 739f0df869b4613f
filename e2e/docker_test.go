package e2e

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
)

// fakeDocker answers the two Docker Engine API calls lkpkg makes (/_ping and POST /images/load) on a unix socket
// and records what was loaded: the RepoTags and config of each image in the archive.
type fakeDocker struct {
	mu     sync.Mutex
	loaded map[string]string // repo tag → config file name (sha256:<hex> or blobs/sha256/<hex>)
}

func startFakeDocker(t *testing.T) (host string, d *fakeDocker) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	d = &fakeDocker{loaded: map[string]string{}}
	srv := &http.Server{Handler: http.HandlerFunc(d.serve)}
	go func() { _ = srv.Serve(l) }() // ends with http.ErrServerClosed at cleanup
	t.Cleanup(func() { srv.Close() })
	return "unix://" + sock, d
}

func (d *fakeDocker) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/_ping":
		_, _ = io.WriteString(w, "OK") // a client gone is the client's failure
	case r.Method == http.MethodPost && r.URL.Path == "/images/load":
		tr := tar.NewReader(r.Body)
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			if h.Name != "manifest.json" {
				continue
			}
			var manifest []struct {
				Config   string
				RepoTags []string
			}
			if err := json.NewDecoder(tr).Decode(&manifest); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			d.mu.Lock()
			for _, m := range manifest {
				for _, tag := range m.RepoTags {
					d.loaded[tag] = m.Config
				}
			}
			d.mu.Unlock()
		}
		_, _ = io.WriteString(w, `{"stream":"Loaded image\n"}`) // a client gone is the client's failure
	default:
		http.NotFound(w, r)
	}
}

// TestBuildLoadsIntoDocker: --docker loads each platform as <tag>-<arch> and the host's also as <tag>.
func TestBuildLoadsIntoDocker(t *testing.T) {
	host, daemon := startFakeDocker(t)
	e := newBuildEnv(t)
	foreign, _ := foreignArch()
	e.pkg("pkg/dk", fmt.Sprintf("image: dk\narches: [%s, %s]\n", runtime.GOARCH, foreign), "FROM busybox:fixture\nRUN uname -m > /arch\n")
	e.mustBuild([]string{"DOCKER_HOST=" + host}, "--docker", "pkg/dk")
	tag := e.tag("pkg/dk") // the full name; Docker shows Hub images shortened
	var tags []string
	for t := range daemon.loaded {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	want := []string{tag, tag + "-" + runtime.GOARCH, tag + "-" + foreign}
	sort.Strings(want)
	if strings.Join(tags, " ") != strings.Join(want, " ") {
		t.Fatalf("loaded %q, want %q", tags, want)
	}
	for _, arch := range []string{runtime.GOARCH, foreign} {
		var cfg struct{ Config struct{ Digest string } }
		e.skopeoJSON(&cfg, "--raw", e.ociRef(tag+"-"+arch))
		if hex := strings.TrimPrefix(cfg.Config.Digest, "sha256:"); !strings.Contains(daemon.loaded[tag+"-"+arch], hex) {
			t.Errorf("configs loaded %v; %s's should be %s", daemon.loaded, arch, hex)
		}
	}
	if daemon.loaded[tag] != daemon.loaded[tag+"-"+runtime.GOARCH] {
		t.Errorf("configs loaded %v; the plain tag's should be the host's (%s)", daemon.loaded, runtime.GOARCH)
	}
}

func TestBuildDockerWithoutDaemon(t *testing.T) {
	e := newBuildEnv(t)
	e.pkg("pkg/nd", "image: nd\narches: [amd64]\n", "FROM busybox:fixture\nRUN true\n")
	before := mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "ls")
	r := e.build([]string{"DOCKER_HOST=unix://" + filepath.Join(t.TempDir(), "none.sock")}, "--docker", "pkg/nd")
	if r.code == 0 || !strings.Contains(r.stderr, "no Docker daemon answers") || !strings.Contains(r.stderr, "cache export --format docker") {
		t.Fatalf("exit %d:\n%s", r.code, tail(r.stderr, 10))
	}
	if after := mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "ls"); after != before {
		t.Error("with no daemon, nothing should have been built")
	}
}
