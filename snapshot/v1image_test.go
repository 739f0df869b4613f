package snapshot

import (
	"errors"
	"io"
	"os"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Image presents the cache's own bytes: the same digests as the blobs, the manifest's media type over the one
// given, and a layer missing from the cache reported when it is read, with what to do.
func TestImage(t *testing.T) {
	c := newCache(t)
	d := mustImage(t, c, "amd64", "v1image")
	img, err := c.Image(d.Digest, MediaTypeDockerManifest)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := img.Digest(); err != nil || got.String() != d.Digest.String() {
		t.Fatalf("digest %v, %v; want %s", got, err, d.Digest)
	}
	if mt, _ := img.MediaType(); mt != types.OCIManifestSchema1 {
		t.Errorf("media type %s, want the manifest's own", mt)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers %v, %v", layers, err)
	}
	ld, _ := layers[0].Digest()
	rc, err := layers[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, rc); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	var m ocispec.Manifest
	if err := c.readJSONBlob(d.Digest, &m); err != nil {
		t.Fatal(err)
	}
	if ld.String() != m.Layers[0].Digest.String() {
		t.Fatalf("layer %s, manifest says %s", ld, m.Layers[0].Digest)
	}
	path, err := c.blobPath(m.Layers[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := layers[0].Compressed(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing layer: %v, want os.ErrNotExist", err)
	}
}
