package snapshot

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestContentStoreWrites(t *testing.T) {
	blob := []byte("a layer's bytes")
	good := ocispec.Descriptor{Digest: digest.FromBytes(blob), Size: int64(len(blob))}
	other := digest.FromString("something else")
	tests := []struct {
		name     string
		opened   ocispec.Descriptor // what the writer is opened for
		size     int64              // what Commit is told
		expected digest.Digest
		wantErr  error // nil: the blob is committed
	}{
		{name: "described", opened: good, size: good.Size, expected: good.Digest},
		{name: "undescribed", size: good.Size, expected: good.Digest},
		{name: "nothing promised", opened: ocispec.Descriptor{}},
		{name: "wrong digest at commit", opened: good, expected: other, wantErr: errdefs.ErrFailedPrecondition},
		{name: "wrong digest when opened", opened: ocispec.Descriptor{Digest: other}, wantErr: errdefs.ErrFailedPrecondition},
		{name: "wrong size", opened: good, size: good.Size + 1, expected: good.Digest, wantErr: errdefs.ErrFailedPrecondition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := emptyCache(t)
			ctx := context.Background()
			w, err := c.ContentStore().Writer(ctx, content.WithRef("test"), content.WithDescriptor(tt.opened))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(blob); err != nil {
				t.Fatal(err)
			}
			err = w.Commit(ctx, tt.size, tt.expected)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Commit = %v, want %v", err, tt.wantErr)
				}
				if c.HasBlob(good.Digest) {
					t.Error("a blob that failed its check is in the cache")
				}
			} else {
				if err != nil {
					t.Fatalf("Commit: %v", err)
				}
				got, err := c.ReadBlob(good.Digest)
				if err != nil || string(got) != string(blob) {
					t.Fatalf("blob read back = %q, %v", got, err)
				}
			}
			assertNoTempFiles(t, c)
		})
	}
}

func TestContentStoreSkipsBlobsItHas(t *testing.T) {
	c := emptyCache(t)
	ctx := context.Background()
	blob := []byte("already here")
	desc := ocispec.Descriptor{Digest: digest.FromBytes(blob), Size: int64(len(blob))}
	if err := c.WriteBlob(strings.NewReader(string(blob)), desc); err != nil {
		t.Fatal(err)
	}
	store := c.ContentStore()
	if _, err := store.Writer(ctx, content.WithRef("again"), content.WithDescriptor(desc)); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Fatalf("Writer for a blob the cache has = %v, want ErrAlreadyExists", err)
	}
	info, err := store.Info(ctx, desc.Digest)
	if err != nil || info.Size != desc.Size {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	ra, err := store.ReaderAt(ctx, desc)
	if err != nil {
		t.Fatal(err)
	}
	defer ra.Close()
	got, err := io.ReadAll(io.NewSectionReader(ra, 0, ra.Size()))
	if err != nil || string(got) != string(blob) {
		t.Fatalf("ReaderAt read %q, %v", got, err)
	}
	missing := digest.FromString("not here")
	if _, err := store.Info(ctx, missing); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Info of a missing blob = %v, want ErrNotFound", err)
	}
	if _, err := store.ReaderAt(ctx, ocispec.Descriptor{Digest: missing}); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("ReaderAt of a missing blob = %v, want ErrNotFound", err)
	}
	if err := store.Delete(ctx, desc.Digest); err == nil || !c.HasBlob(desc.Digest) {
		t.Errorf("Delete = %v and the blob is present: %v; the store never deletes", err, c.HasBlob(desc.Digest))
	}
}

// A corrupt blob in the cache is written again rather than taken as present.
func TestContentStoreReplacesCorruptBlob(t *testing.T) {
	c := emptyCache(t)
	ctx := context.Background()
	blob := []byte("the real content")
	desc := ocispec.Descriptor{Digest: digest.FromBytes(blob), Size: int64(len(blob))}
	if err := c.WriteBlob(strings.NewReader(string(blob)), desc); err != nil {
		t.Fatal(err)
	}
	p, _ := c.blobPath(desc.Digest)
	if err := os.WriteFile(p, []byte("garbage garbage!"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.verified.Delete(desc.Digest)
	if err := content.WriteBlob(ctx, c.ContentStore(), "replace", strings.NewReader(string(blob)), desc); err != nil {
		t.Fatal(err)
	}
	if got, err := c.ReadBlob(desc.Digest); err != nil || string(got) != string(blob) {
		t.Fatalf("blob after rewrite = %q, %v", got, err)
	}
}

func TestContentStoreAbandonedWriteLeavesNothing(t *testing.T) {
	c := emptyCache(t)
	w, err := c.ContentStore().Writer(context.Background(), content.WithRef("abandoned"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("half a blob")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	assertNoTempFiles(t, c)
}

func emptyCache(t *testing.T) *Cache {
	t.Helper()
	c, err := OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func assertNoTempFiles(t *testing.T, c *Cache) {
	t.Helper()
	entries, err := os.ReadDir(c.Dir())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			t.Errorf("temporary file %s left in the cache", e.Name())
		}
	}
}
