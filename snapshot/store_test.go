package snapshot

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/storage"
)

// newStore opens a store in a temporary directory; the driver is storage.conf's (overlay here), which needs root.
func newStore(t *testing.T) *Store {
	t.Helper()
	if testing.Short() {
		t.Skip("writes into containers-storage as root; skipped under -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("writing into containers-storage outside a user namespace needs root")
	}
	dir := t.TempDir()
	s, err := OpenStore(StoreOptions{GraphRoot: filepath.Join(dir, "root"), RunRoot: filepath.Join(dir, "run")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestCopyToStore(t *testing.T) {
	c := newCache(t)
	s := newStore(t)
	const tag = "docker.io/linuxkit/foo:0123abcd"
	md := mustImage(t, c, "amd64", "store")
	if err := c.DescriptorWrite(tag+"-amd64", md); err != nil {
		t.Fatal(err)
	}
	// A second copy (a rebuild finding the image cached) must succeed and change nothing.
	for range 2 {
		got, err := c.CopyToStore(context.Background(), s, tag+"-amd64", linux("amd64"), tag+"-amd64", tag)
		if err != nil {
			t.Fatal(err)
		}
		if got != md.Digest {
			t.Fatalf("digest in the store %s, in the cache %s", got, md.Digest)
		}
	}
	img, err := s.store.Image(tag)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(img.Names, tag) || !slices.Contains(img.Names, tag+"-amd64") || len(img.Names) != 2 {
		t.Errorf("names %v, want %s and %s-amd64", img.Names, tag, tag)
	}
	if img.Digest != md.Digest {
		t.Errorf("image digest %s, want the cache's manifest digest %s", img.Digest, md.Digest)
	}
	var m ocispec.Manifest
	if err := c.readJSONBlob(md.Digest, &m); err != nil {
		t.Fatal(err)
	}
	// c/storage names an image by its config digest, as podman does.
	if img.ID != m.Config.Digest.Encoded() {
		t.Errorf("image ID %s, want the config digest %s", img.ID, m.Config.Digest)
	}
	raw, err := s.store.ImageBigData(img.ID, storage.ImageDigestManifestBigDataNamePrefix+"-"+md.Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	want, _ := c.ReadBlob(md.Digest)
	if string(raw) != string(want) {
		t.Errorf("manifest in the store differs from the cache's:\n%s\n%s", raw, want)
	}
	// The layer holds the file the cache's layer holds.
	mnt, err := s.store.Mount(img.TopLayer, "")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := s.store.Unmount(img.TopLayer, true); err != nil {
			t.Error(err)
		}
	}()
	if fi, err := os.Stat(filepath.Join(mnt, "data", "store")); err != nil || fi.Size() != 512 {
		t.Errorf("file from the layer: %v, %v", fi, err)
	}
}

func TestCopyToStoreRefusals(t *testing.T) {
	c := newCache(t)
	s := newStore(t)
	const tag = "docker.io/linuxkit/foo:0123abcd"
	amd := mustImage(t, c, "amd64", "a")
	arm := mustImage(t, c, "arm64", "b")
	if _, err := c.IndexWriteNamed(tag, []ocispec.Descriptor{amd, arm}, nil); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.CopyToStore(ctx, s, tag, linux("s390x"), tag); err == nil || !strings.Contains(err.Error(), "no image for platform") {
		t.Errorf("copying a platform the index lacks: %v", err)
	}
	if _, err := c.CopyToStore(ctx, s, tag+"-riscv64", linux("riscv64"), tag); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("copying a missing name: %v", err)
	}
	if _, err := c.CopyToStore(ctx, s, tag, linux("arm64"), "Not A Reference"); err == nil || !strings.Contains(err.Error(), "not an image reference") {
		t.Errorf("copying under a bad name: %v", err)
	}
	sparse := mustImage(t, c, "riscv64", "sparse")
	var m ocispec.Manifest
	if err := c.readJSONBlob(sparse.Digest, &m); err != nil {
		t.Fatal(err)
	}
	p, _ := c.blobPath(m.Layers[0].Digest)
	os.Remove(p)
	if err := c.DescriptorWrite(tag+"-riscv64", sparse); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CopyToStore(ctx, s, tag+"-riscv64", linux("riscv64"), tag); err == nil || !strings.Contains(err.Error(), "sparse") {
		t.Errorf("copying a sparse entry: %v", err)
	}
	if imgs, _ := s.store.Images(); len(imgs) != 0 {
		t.Errorf("refused copies left images: %v", imgs)
	}
	// An index entry gives its child for the platform, digest unchanged.
	got, err := c.CopyToStore(ctx, s, tag, linux("arm64"), tag+"-arm64")
	if err != nil {
		t.Fatal(err)
	}
	if got != arm.Digest {
		t.Errorf("copied %s from the index, want its arm64 child %s", got, arm.Digest)
	}
}

func linux(arch string) ocispec.Platform { return ocispec.Platform{OS: "linux", Architecture: arch} }

func TestOpenStoreNotWritable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// A file where a directory must be: refused even for root, which ignores modes.
	_, err := OpenStore(StoreOptions{GraphRoot: filepath.Join(file, "root"), RunRoot: filepath.Join(dir, "run")})
	if err == nil || !strings.Contains(err.Error(), "store path not writable") || !strings.Contains(err.Error(), file) {
		t.Fatalf("got %v, want a \"store path not writable\" error naming %s", err, file)
	}
	if _, err := os.Stat(filepath.Join(dir, "run")); err == nil {
		t.Errorf("the run root was created although the graph root was refused")
	}
}
