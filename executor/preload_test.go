package executor

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// testLayout is an OCI layout directory being written by a test.
type testLayout struct {
	t   *testing.T
	dir string
}

func (l testLayout) blob(data []byte) ocispecs.Descriptor {
	d := digest.FromBytes(data)
	p := filepath.Join(l.dir, "blobs", "sha256", d.Encoded())
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		l.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		l.t.Fatal(err)
	}
	return ocispecs.Descriptor{Digest: d, Size: int64(len(data))}
}

func (l testLayout) json(v any, mediaType string) ocispecs.Descriptor {
	data, err := json.Marshal(v)
	if err != nil {
		l.t.Fatal(err)
	}
	desc := l.blob(data)
	desc.MediaType = mediaType
	return desc
}

// image writes a one-layer image for arch and returns its manifest's descriptor and its layer's.
func (l testLayout) image(arch string) (manifest, layer ocispecs.Descriptor) {
	layer = l.blob([]byte("layer of " + arch))
	layer.MediaType = ocispecs.MediaTypeImageLayerGzip
	config := l.json(map[string]string{"architecture": arch, "os": "linux"}, ocispecs.MediaTypeImageConfig)
	manifest = l.json(ocispecs.Manifest{MediaType: ocispecs.MediaTypeImageManifest, Config: config,
		Layers: []ocispecs.Descriptor{layer}}, ocispecs.MediaTypeImageManifest)
	manifest.Platform = &ocispecs.Platform{OS: "linux", Architecture: arch}
	return manifest, layer
}

func newStore(t *testing.T, dir string) content.Store {
	s, err := local.NewStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPreloadCopiesTheWantedPlatforms(t *testing.T) {
	ctx := context.Background()
	l := testLayout{t: t, dir: t.TempDir()}
	amd64, amd64Layer := l.image("amd64")
	arm64, arm64Layer := l.image("arm64")
	index := l.json(ocispecs.Index{MediaType: ocispecs.MediaTypeImageIndex, Manifests: []ocispecs.Descriptor{amd64, arm64}},
		ocispecs.MediaTypeImageIndex)
	store, src := newStore(t, t.TempDir()), newStore(t, l.dir)
	if err := preloadBlobs(ctx, store, src, index.Digest, platformMatcher("linux/amd64")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		desc ocispecs.Descriptor
		want bool
	}{
		{"index", index, true}, {"amd64 manifest", amd64, true}, {"amd64 layer", amd64Layer, true},
		{"arm64 manifest", arm64, false}, {"arm64 layer", arm64Layer, false},
	} {
		_, err := store.Info(ctx, tc.desc.Digest)
		if got := err == nil; got != tc.want {
			t.Errorf("%s in the store: %v, want %v (%v)", tc.name, got, tc.want, err)
		}
	}
}

func TestPreloadRefusesADamagedBlob(t *testing.T) {
	ctx := context.Background()
	l := testLayout{t: t, dir: t.TempDir()}
	manifest, layer := l.image("amd64")
	path := filepath.Join(l.dir, "blobs", "sha256", layer.Digest.Encoded())
	if err := os.WriteFile(path, []byte("layer of amd66"), 0o644); err != nil { // same size, other bytes
		t.Fatal(err)
	}
	store, src := newStore(t, t.TempDir()), newStore(t, l.dir)
	if err := preloadBlobs(ctx, store, src, manifest.Digest, platformMatcher("linux/amd64")); err == nil {
		t.Error("preloading an image with a damaged layer reported no error")
	}
	if _, err := store.Info(ctx, layer.Digest); err == nil {
		t.Error("the damaged layer is in the store under its digest")
	}
}

func TestSolveRequestOCIImages(t *testing.T) {
	d1, d2 := digest.FromString("one"), digest.FromString("two")
	req := SolveRequest{
		OCIStores:     map[string]string{"linuxkit-cache": "/cache", "other": "/other"},
		NamedContexts: map[string]string{"busybox": OCILayoutRef("linuxkit-cache", d1), "alpine": "docker-image://alpine"},
		FromCache:     map[string]string{"docker.io/docker/scanner:1": "linuxkit-cache@" + d2.String(), "x": "missing@" + d1.String()},
	}
	got := map[ociImage]bool{}
	for _, im := range req.ociImages() {
		got[im] = true
	}
	want := map[ociImage]bool{{store: "linuxkit-cache", digest: d1}: true, {store: "linuxkit-cache", digest: d2}: true}
	if len(got) != len(want) || !got[ociImage{"linuxkit-cache", d1}] || !got[ociImage{"linuxkit-cache", d2}] {
		t.Errorf("ociImages() = %v, want %v", got, want)
	}
}
