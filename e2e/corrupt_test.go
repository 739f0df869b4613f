package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixtureLayer is the path and digest of the first layer of busybox:fixture's amd64 image in cache.
func fixtureLayer(t *testing.T, cache string) (path, dgst string) {
	t.Helper()
	type desc struct {
		Digest   string            `json:"digest"`
		Platform map[string]string `json:"platform"`
	}
	var doc struct {
		Manifests []desc `json:"manifests"`
		Layers    []desc `json:"layers"`
	}
	blob := func(d string) string {
		return filepath.Join(cache, "blobs", "sha256", strings.TrimPrefix(d, "sha256:"))
	}
	read := func(p string) {
		doc.Manifests, doc.Layers = nil, nil
		b, err := os.ReadFile(p)
		if err == nil {
			err = json.Unmarshal(b, &doc)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	read(filepath.Join(cache, "index.json"))
	read(blob(doc.Manifests[0].Digest))
	for _, m := range doc.Manifests {
		if m.Platform["architecture"] == "amd64" {
			read(blob(m.Digest))
			return blob(doc.Layers[0].Digest), doc.Layers[0].Digest
		}
	}
	t.Fatal("busybox:fixture has no amd64 image")
	return "", ""
}

// TestCorruptCacheBlob: a layer whose bytes no longer match its digest is found before anything reads it on: export,
// push and a build from it fail naming the entry and the blob, write and send nothing; `cache ls` still works, and
// `cache rm` followed by a fresh import repairs the entry.
func TestCorruptCacheBlob(t *testing.T) {
	e := newBuildEnv(t)
	layer, dgst := fixtureLayer(t, e.cache)
	b, err := os.ReadFile(layer)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(layer, b[:len(b)/2], 0o644); err != nil { // truncated, as by a full disk
		t.Fatal(err)
	}
	failsNaming := func(r result, what string) {
		t.Helper()
		if r.code != 1 || !strings.Contains(r.stderr, dgst) || !strings.Contains(r.stderr, "busybox:fixture") ||
			!strings.Contains(r.stderr, "corrupt") {
			t.Errorf("%s: exit %d; want 1 and an error naming busybox:fixture and %s:\n%s", what, r.code, dgst, tail(r.stderr, 5))
		}
	}

	out := filepath.Join(t.TempDir(), "out.tar")
	failsNaming(lkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "export", "--platform", "linux/amd64", "--outfile", out, "busybox:fixture"), "cache export")
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("cache export of a corrupt entry left %s (%v)", out, err)
	}
	// The corrupt layer is amd64's; without --platform, export takes the host's.
	r := lkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "export", "--platform", "linux/amd64", "--format", "docker", "--outfile", "-", "busybox:fixture")
	failsNaming(r, "cache export to stdout")
	if r.stdout != "" {
		t.Errorf("cache export to stdout wrote %d bytes of a corrupt entry", len(r.stdout))
	}

	reg := newPushRegistry(t)
	env := noCredsEnv(t)
	failsNaming(lkpkg(t, e.repo.Dir, env, "--cache", e.cache, "cache", "push", "--registry-creds", reg.creds(),
		"--remote-name", reg.host+"/lk/busybox:corrupt", "busybox:fixture"), "cache push")
	if n := reg.uploads.Load(); n != 0 {
		t.Errorf("cache push of a corrupt entry made %d uploads", n)
	}

	e.pkg("pkg/onbad", "image: onbad\narches: [amd64]\n", "FROM busybox:fixture\nRUN echo x > /x\n")
	failsNaming(e.build(nil, "pkg/onbad"), "a build from the corrupt entry")

	if ls := mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "ls"); !strings.Contains(ls, "busybox:fixture") {
		t.Errorf("cache ls of a cache with a corrupt blob:\n%s", ls)
	}
	mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "rm", "busybox:fixture")
	e.importFixture(e.cache)
	mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "export", "--platform", "linux/amd64", "--outfile", out, "busybox:fixture")
	e.mustBuild(nil, "pkg/onbad")

	// A corrupt blob is replaced by an import over it too (as a re-pull does: both write through the same check).
	if err := os.WriteFile(layer, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.importFixture(e.cache)
	mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "export", "--platform", "linux/amd64", "--outfile", out, "busybox:fixture")
}
