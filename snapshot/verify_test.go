package snapshot

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const fixtureArm64Manifest = "sha256:3088d8ef7f88e6a46915b845fa654f1bed49fe523be1756ea76af0e890b1fcef"

// corruptions rewrite a blob file in place, as a full disk, a crash without fsync or a stray tool might.
var corruptions = map[string]func([]byte) []byte{
	"truncated": func(b []byte) []byte { return b[:len(b)/2] },
	"garbage":   func(b []byte) []byte { return bytes.Repeat([]byte{'x'}, len(b)) },
	"empty":     func([]byte) []byte { return nil },
}

func spoilBlob(t *testing.T, c *Cache, d digest.Digest, how func([]byte) []byte) {
	t.Helper()
	p, _ := c.blobPath(d)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, how(b), filePerm); err != nil {
		t.Fatal(err)
	}
}

// reopen is the cache as the next lkpkg process sees it (nothing verified yet).
func reopen(t *testing.T, c *Cache) *Cache {
	t.Helper()
	c2, err := OpenCache(c.Dir())
	if err != nil {
		t.Fatal(err)
	}
	return c2
}

func TestCorruptBlobIsDetectedAndRepaired(t *testing.T) {
	seed := newCache(t)
	importFixture(t, seed)
	m := fixtureManifest(t, seed, fixtureArm64Manifest)
	arm64 := ExportOptions{Platform: ocispec.Platform{OS: "linux", Architecture: "arm64"}, Format: FormatOCI}
	blobs := map[string]digest.Digest{
		"layer":    m.Layers[0].Digest,
		"config":   m.Config.Digest,
		"manifest": digest.Digest(fixtureArm64Manifest),
	}
	for what, d := range blobs {
		for how, corrupt := range corruptions {
			t.Run(what+"/"+how, func(t *testing.T) {
				c := newCache(t)
				importFixture(t, c)
				spoilBlob(t, c, d, corrupt)
				c = reopen(t, c)

				var out bytes.Buffer
				err := c.Export(fixtureName, arm64, &out)
				if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), d.String()) || !strings.Contains(err.Error(), fixtureName) {
					t.Fatalf("export: %v; want a corrupt-blob error naming %s and %s", err, d, fixtureName)
				}
				if out.Len() != 0 {
					t.Errorf("export wrote %d bytes before failing", out.Len())
				}
				if err := c.VerifyEntry(fixtureName); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "lkpkg cache rm "+fixtureName) {
					t.Errorf("VerifyEntry: %v; want the blob named and the repair", err)
				}
				if names, err := c.Names(); err != nil || len(names) == 0 {
					t.Errorf("listing a cache with a corrupt blob: %v %v", names, err)
				}

				// Importing (or pulling) the image again replaces the corrupt blob.
				importFixture(t, c)
				c = reopen(t, c)
				if err := c.VerifyEntry(fixtureName); err != nil {
					t.Fatalf("after re-import: %v", err)
				}
				out.Reset()
				if err := c.Export(fixtureName, arm64, &out); err != nil {
					t.Fatalf("export after re-import: %v", err)
				}
			})
		}
	}
}

func TestWriteBlobReplacesCorruptBlob(t *testing.T) {
	c := newCache(t)
	content := []byte("the content")
	desc, err := c.writeBlobBytes(content, "application/octet-stream")
	if err != nil {
		t.Fatal(err)
	}
	spoilBlob(t, c, desc.Digest, corruptions["truncated"])
	c = reopen(t, c)
	if c.HasIntactBlob(desc.Digest) {
		t.Fatal("a truncated blob counts as intact")
	}
	if _, err := c.ReadBlob(desc.Digest); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ReadBlob of a truncated blob: %v", err)
	}
	if err := c.WriteBlob(bytes.NewReader(content), desc); err != nil {
		t.Fatal(err)
	}
	if got, err := c.ReadBlob(desc.Digest); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("after WriteBlob: %q %v", got, err)
	}
}

func TestRemoveCorruptEntry(t *testing.T) {
	c := newCache(t)
	importFixture(t, c)
	spoilBlob(t, c, fixtureManifest(t, c, fixtureArm64Manifest).Layers[0].Digest, corruptions["garbage"])
	c = reopen(t, c)
	if err := c.Remove(fixtureName); err != nil {
		t.Fatalf("cache rm of an entry with a corrupt blob: %v", err)
	}
	importFixture(t, c)
	if err := reopen(t, c).VerifyEntry(fixtureName); err != nil {
		t.Fatalf("after rm and re-import: %v", err)
	}
}
