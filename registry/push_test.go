package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/lkpkg/lkpkg/snapshot"
)

const testUser, testPass = "pusher", "pw-0123456789"

// testRegistry is an in-process registry behind TLS (a self-signed certificate) and basic auth that counts
// requests by method.
type testRegistry struct {
	host, caFile string
	mu           sync.Mutex
	counts       map[string]int
}

func newTestRegistry(t *testing.T) *testRegistry {
	t.Helper()
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	tr := &testRegistry{counts: map[string]int{}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != testUser || p != testPass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		tr.mu.Lock()
		tr.counts[r.Method]++
		tr.mu.Unlock()
		reg.ServeHTTP(w, r)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted-certificate case makes handshakes fail
	srv.StartTLS()
	t.Cleanup(srv.Close)
	tr.host = strings.TrimPrefix(srv.URL, "https://")
	tr.caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(tr.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tr
}

// uploads is how many requests sent content (blob upload starts, chunks, manifest PUTs) since the last call.
func (tr *testRegistry) uploads() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := tr.counts[http.MethodPost] + tr.counts[http.MethodPut] + tr.counts[http.MethodPatch]
	tr.counts = map[string]int{}
	return n
}

func (tr *testRegistry) posts() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.counts[http.MethodPost]
}

// raw is the manifest or index ref names in the registry, nil when there is none.
func (tr *testRegistry) raw(t *testing.T, ref string) []byte {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := newHostTransport(nil, []string{tr.caFile})
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Get(r, remote.WithAuth(&authn.Basic{Username: testUser, Password: testPass}), remote.WithTransport(tp))
	if err != nil {
		if strings.Contains(err.Error(), "MANIFEST_UNKNOWN") || strings.Contains(err.Error(), "404") {
			return nil
		}
		t.Fatalf("get %s: %v", ref, err)
	}
	return d.Manifest
}

func (tr *testRegistry) pusher(t *testing.T, password string, trustCA bool) (*Pusher, *bytes.Buffer) {
	t.Helper()
	// Not LoadCredentials: the docker CLI reads DOCKER_CONFIG once per process, and TestLoadCredentials sets it.
	creds := &Credentials{docker: configfile.New(""), Sources: []string{"--registry-creds"},
		explicit: map[string]types.AuthConfig{tr.host: {Username: testUser, Password: password}}}
	var out bytes.Buffer
	p := &Pusher{Remote: NewRemote(creds, nil), Log: &out}
	p.ReportRetriesTo(&out)
	p.BlobInfoCacheDir = t.TempDir()
	if trustCA {
		if err := p.TrustCAs(tr.caFile); err != nil {
			t.Fatal(err)
		}
	}
	return p, &out
}

// writeJSON stores v as a blob and returns its descriptor.
func writeJSON(t *testing.T, c *snapshot.Cache, mediaType string, v any) ocispec.Descriptor {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return writeBlob(t, c, mediaType, b)
}

func writeBlob(t *testing.T, c *snapshot.Cache, mediaType string, b []byte) ocispec.Descriptor {
	t.Helper()
	d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
	if err := c.WriteBlob(bytes.NewReader(b), d); err != nil {
		t.Fatal(err)
	}
	return d
}

// addImage writes a one-layer image for arch (content makes it unique) and, if attest, its attestation manifest;
// it returns the index children, as a build would.
func addImage(t *testing.T, c *snapshot.Cache, arch, content string, attest bool) []ocispec.Descriptor {
	t.Helper()
	layer := writeBlob(t, c, ocispec.MediaTypeImageLayer, []byte("layer "+arch+" "+content))
	config := writeJSON(t, c, ocispec.MediaTypeImageConfig, map[string]any{"architecture": arch, "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{layer.Digest.String()}}})
	man := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: config, Layers: []ocispec.Descriptor{layer}}
	man.SchemaVersion = 2
	img := writeJSON(t, c, ocispec.MediaTypeImageManifest, man)
	img.Platform = &ocispec.Platform{OS: "linux", Architecture: arch}
	children := []ocispec.Descriptor{img}
	if attest {
		stmt := writeBlob(t, c, "application/vnd.in-toto+json", []byte(`{"_type":"statement","for":"`+img.Digest.String()+`"}`))
		aconf := writeJSON(t, c, ocispec.MediaTypeImageConfig, map[string]any{"architecture": "unknown", "os": "unknown",
			"rootfs": map[string]any{"type": "layers", "diff_ids": []string{stmt.Digest.String()}}})
		am := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: aconf, Layers: []ocispec.Descriptor{stmt}}
		am.SchemaVersion = 2
		a := writeJSON(t, c, ocispec.MediaTypeImageManifest, am)
		a.Platform = &ocispec.Platform{OS: "unknown", Architecture: "unknown"}
		a.Annotations = map[string]string{snapshot.AnnotationReferenceDigest: img.Digest.String(),
			"vnd.docker.reference.type": "attestation-manifest"}
		children = append(children, a)
	}
	return children
}

func newCache(t *testing.T) *snapshot.Cache {
	t.Helper()
	c, err := snapshot.OpenCache(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// childArches lists an index's children as arch (attestations as "att:<arch they describe>").
func childArches(t *testing.T, raw []byte, archOf map[string]string) []string {
	t.Helper()
	var idx ocispec.Index
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range idx.Manifests {
		if ref := d.Annotations[snapshot.AnnotationReferenceDigest]; ref != "" {
			out = append(out, "att:"+archOf[ref])
		} else {
			out = append(out, archOf[d.Digest.String()])
		}
	}
	return out
}

func TestPush(t *testing.T) {
	tr := newTestRegistry(t)
	ctx := context.Background()
	tag := tr.host + "/lk/pkg:abc"
	archOf := map[string]string{}
	named := func(name string, children []ocispec.Descriptor) {
		archOf[children[0].Digest.String()] = children[0].Platform.Architecture + "@" + name
	}

	// Machine 1: amd64 with its attestation.
	c1 := newCache(t)
	amd := addImage(t, c1, "amd64", "1", true)
	named("m1", amd)
	root1, err := c1.IndexWriteNamed(tag, amd, nil)
	if err != nil {
		t.Fatal(err)
	}

	// Untrusted certificate: no CA given.
	noCA, _ := tr.pusher(t, testPass, false)
	if err := noCA.Push(ctx, c1, tag, PushOptions{Override: true}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("push to a registry with an untrusted certificate: %v", err)
	}

	p, out := tr.pusher(t, testPass, true)
	if err := p.Push(ctx, c1, tag, PushOptions{ArchTags: true, Override: true}); err != nil {
		t.Fatal(err)
	}
	local, _ := c1.ReadBlob(root1.Digest)
	if got := tr.raw(t, tag); !bytes.Equal(got, local) {
		t.Fatalf("the registry's index differs from the cache's:\n%s\n%s", got, local)
	}
	if got := tr.raw(t, tag+"-amd64"); digest.FromBytes(got) != amd[0].Digest {
		t.Errorf("arch tag: %s, want %s", digest.FromBytes(got), amd[0].Digest)
	}
	if got := tr.raw(t, tag+"-unknown"); got != nil {
		t.Errorf("a -unknown tag was pushed")
	}
	if got := tr.raw(t, tr.host+"/lk/pkg@"+amd[1].Digest.String()); got == nil {
		t.Errorf("the attestation was not pushed")
	}
	tr.uploads()

	// Re-push: nothing sent.
	out.Reset()
	if err := p.Push(ctx, c1, tag, PushOptions{ArchTags: true, Override: true}); err != nil {
		t.Fatal(err)
	}
	if n := tr.uploads(); n != 0 || !strings.Contains(out.String(), "already available on remote registry, skipping push") {
		t.Errorf("re-push: %d uploads, said %q", n, out.String())
	}

	// The same image under another tag of the repository: its blobs are there (HEAD), none is uploaded again.
	if err := p.Push(ctx, c1, tag, PushOptions{RemoteName: tr.host + "/lk/pkg:other", Override: true}); err != nil {
		t.Fatal(err)
	}
	if n := tr.posts(); n != 0 {
		t.Errorf("pushing present content under a new tag started %d blob uploads", n)
	}
	tr.uploads()

	// Machine 2: arm64 with its attestation; the remote index gains it and keeps amd64.
	c2 := newCache(t)
	arm := addImage(t, c2, "arm64", "1", true)
	named("m2", arm)
	if _, err := c2.IndexWriteNamed(tag, arm, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Push(ctx, c2, tag, PushOptions{ArchTags: true, Override: true}); err != nil {
		t.Fatal(err)
	}
	want := []string{"amd64@m1", "att:amd64@m1", "arm64@m2", "att:arm64@m2"} // canonical order, whichever machine pushed first
	if got := childArches(t, tr.raw(t, tag), archOf); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("after machine 2: %v, want %v", got, want)
	}

	// Machine 3 rebuilds amd64 without an attestation: it replaces amd64, whose attestation goes.
	c3 := newCache(t)
	amd3 := addImage(t, c3, "amd64", "3", false)
	named("m3", amd3)
	if _, err := c3.IndexWriteNamed(tag, amd3, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Push(ctx, c3, tag, PushOptions{ArchTags: true, Override: true}); err != nil {
		t.Fatal(err)
	}
	want = []string{"amd64@m3", "arm64@m2", "att:arm64@m2"}
	if got := childArches(t, tr.raw(t, tag), archOf); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("after machine 3: %v, want %v", got, want)
	}
	if got := tr.raw(t, tag+"-amd64"); digest.FromBytes(got) != amd3[0].Digest {
		t.Errorf("amd64 arch tag not moved to the rebuild")
	}

	// Machine 2 again: the remote already has its platform; the index is left alone.
	tr.uploads()
	out.Reset()
	before := tr.raw(t, tag)
	if err := p.Push(ctx, c2, tag, PushOptions{Override: true}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, tr.raw(t, tag)) || tr.uploads() != 0 {
		t.Errorf("a push of what the remote index already holds changed it or uploaded: %s", out.String())
	}

	// Without Override an existing tag is left as it is (release tags).
	out.Reset()
	if err := p.Push(ctx, c1, tag, PushOptions{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, tr.raw(t, tag)) || !strings.Contains(out.String(), "not overriding") {
		t.Errorf("push without override replaced the tag: %s", out.String())
	}

	// A single image entry.
	if err := c1.DescriptorWrite(tag+"-amd64", amd[0]); err != nil {
		t.Fatal(err)
	}
	if err := p.Push(ctx, c1, tag+"-amd64", PushOptions{RemoteName: tr.host + "/lk/single:1", Override: true}); err != nil {
		t.Fatal(err)
	}
	if got := tr.raw(t, tr.host+"/lk/single:1"); digest.FromBytes(got) != amd[0].Digest {
		t.Errorf("single image pushed as %s, want %s", digest.FromBytes(got), amd[0].Digest)
	}

	// Wrong password: a clear error naming the registry and where credentials were looked for, no secret.
	bad, _ := tr.pusher(t, "wrong-secret", true)
	err = bad.Push(ctx, c1, tag, PushOptions{Override: true})
	if err == nil || !strings.Contains(err.Error(), "credentials were looked for in") || !strings.Contains(err.Error(), tr.host) ||
		strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("wrong password: %v", err)
	}
}

// A layer containers/image pushed to another repository of the registry before is mounted from there rather
// than uploaded. The registry here hides blobs from HEAD in the target repository until they are mounted or
// uploaded there (as registries that link blobs per repository do) and answers mount requests itself.
func TestPushMountsFromOtherRepository(t *testing.T) {
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	var mu sync.Mutex
	var mounts []string
	patches := 0
	linked := map[string]bool{} // blobs mounted or uploaded into the target repository
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inTarget := strings.HasPrefix(r.URL.Path, "/v2/lk/target/blobs/")
		mu.Lock()
		defer mu.Unlock()
		switch {
		case inTarget && r.Method == http.MethodHead && !linked[path.Base(r.URL.Path)]:
			http.Error(w, "unknown blob", http.StatusNotFound)
			return
		case inTarget && r.Method == http.MethodPost && r.URL.Query().Get("mount") != "":
			mounts = append(mounts, r.URL.Query().Get("from")+"@"+r.URL.Query().Get("mount"))
			linked[r.URL.Query().Get("mount")] = true
			w.Header().Set("Location", "/v2/lk/target/blobs/"+r.URL.Query().Get("mount"))
			w.WriteHeader(http.StatusCreated)
			return
		case inTarget && r.Method == http.MethodPatch:
			patches++
		case inTarget && r.Method == http.MethodPut:
			linked[r.URL.Query().Get("digest")] = true
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()
	c := newCache(t)
	base := addImage(t, c, "amd64", "base", false)[0]
	if err := c.DescriptorWrite(host+"/lib/base:1", base); err != nil {
		t.Fatal(err)
	}
	p := &Pusher{Remote: NewRemote(nil, nil), Log: io.Discard}
	p.BlobInfoCacheDir = t.TempDir()
	if err := p.Push(ctx, c, host+"/lib/base:1", PushOptions{Override: true}); err != nil {
		t.Fatal(err)
	}
	baseMan, err := c.ReadManifest(base.Digest)
	if err != nil {
		t.Fatal(err)
	}
	config := writeJSON(t, c, ocispec.MediaTypeImageConfig, map[string]any{"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{baseMan.Layers[0].Digest.String()}}, "author": "derived"})
	man := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: config, Layers: baseMan.Layers}
	man.SchemaVersion = 2
	derived := writeJSON(t, c, ocispec.MediaTypeImageManifest, man)
	if err := c.DescriptorWrite(host+"/lk/target:1", derived); err != nil {
		t.Fatal(err)
	}
	if err := p.Push(ctx, c, host+"/lk/target:1", PushOptions{Override: true}); err != nil {
		t.Fatal(err)
	}
	want := "lib/base@" + baseMan.Layers[0].Digest.String()
	if len(mounts) != 1 || mounts[0] != want {
		t.Errorf("mounts %v, want [%s]", mounts, want)
	}
	if patches != 1 {
		t.Errorf("%d blobs uploaded, want 1 (the config; the layer is mounted)", patches)
	}
}
