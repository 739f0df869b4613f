package snapshot

import (
	"bytes"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// linuxkit manages its cache with ggcr's layout package; a cache it made must work here, and what lkpkg writes must
// read back through ggcr the way linuxkit reads it (match.Name on org.opencontainers.image.ref.name).
func TestLinuxkitCompat(t *testing.T) {
	const name = "docker.io/library/busybox:fixture"
	dir := t.TempDir()
	// What linuxkit's cache.Get and a pull leave: layout.Write(dir, empty.Index), then the index appended by name.
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	src, err := layout.FromPath(fixtureDir)
	if err != nil {
		t.Fatal(err)
	}
	srcIdx, err := src.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	fixture, err := partial.FindIndexes(srcIdx, match.Name(fixtureName))
	if err != nil || len(fixture) != 1 {
		t.Fatalf("fixture: %v", err)
	}
	if err := p.AppendIndex(fixture[0], layout.WithAnnotations(map[string]string{ocispec.AnnotationRefName: name})); err != nil {
		t.Fatal(err)
	}

	c, err := OpenCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	if root, err := c.FindRoot(name); err != nil || root.Digest.String() != fixtureIndex {
		t.Fatalf("FindRoot on a ggcr-made cache: %+v %v", root, err)
	}
	if ok, err := c.ImageInCache(name, "arm64"); !ok || err != nil {
		t.Fatalf("ImageInCache: %v %v", ok, err)
	}
	// lkpkg writes: a per-arch entry and a merged index, as a build does.
	img := mustImage(t, c, "riscv64", "compat")
	if err := c.DescriptorWrite(name+"-riscv64", img); err != nil {
		t.Fatal(err)
	}
	if _, err := c.IndexWriteNamed(name, []ocispec.Descriptor{img, attestationFor(c, img)}, nil); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.Export(name, ExportOptions{Platform: ocispec.Platform{OS: "linux", Architecture: "riscv64"}, Format: FormatDocker}, &buf); err != nil {
		t.Fatal(err)
	}

	// ggcr (linuxkit) reads it back.
	lp, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	ii, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	idxs, err := partial.FindIndexes(ii, match.Name(name))
	if err != nil || len(idxs) != 1 {
		t.Fatalf("ggcr FindIndexes(%s): %d, %v", name, len(idxs), err)
	}
	if err := validate.Index(idxs[0]); err != nil {
		t.Fatalf("ggcr validate.Index: %v", err)
	}
	im, _ := idxs[0].IndexManifest()
	if len(im.Manifests) != 5 { // amd64, arm64, s390x, riscv64, attestation
		t.Fatalf("merged index has %d children", len(im.Manifests))
	}
	imgs, err := partial.FindImages(ii, match.Name(name+"-riscv64"))
	if err != nil || len(imgs) != 1 {
		t.Fatalf("ggcr FindImages: %d, %v", len(imgs), err)
	}
	if err := validate.Image(imgs[0]); err != nil {
		t.Fatal(err)
	}
	checkLayout(t, dir)
}
