package snapshot

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ErrCorrupt is wrapped by errors about a blob whose content no longer matches its digest (a truncated or
// overwritten file, a failing disk).
var ErrCorrupt = errors.New("its content does not match its digest")

// corruptBlobError names the blob and, once known, the entry it belongs to, and says how to repair it.
type corruptBlobError struct {
	blob  digest.Digest
	entry string
}

func (e *corruptBlobError) Error() string {
	if e.entry == "" {
		return fmt.Sprintf("blob %s in the linuxkit cache is corrupt: %v", e.blob, ErrCorrupt)
	}
	return fmt.Sprintf("cache entry %s: blob %s is corrupt: %v; remove the entry (`lkpkg cache rm %s`) and pull or build it again",
		e.entry, e.blob, ErrCorrupt, e.entry)
}

func (e *corruptBlobError) Unwrap() error { return ErrCorrupt }

// verifyBlob hashes the blob d in the cache and compares it with d. Each blob is hashed at most once per Cache
// (and so per process): a blob is written once, verified, and never rewritten in place. A missing blob wraps
// os.ErrNotExist.
func (c *Cache) verifyBlob(d digest.Digest) error {
	if _, ok := c.verified.Load(d); ok {
		return nil
	}
	f, err := c.OpenBlob(d)
	if err != nil {
		return err
	}
	defer f.Close()
	if !d.Algorithm().Available() {
		return fmt.Errorf("blob %s: unsupported digest algorithm", d)
	}
	v := d.Verifier()
	if _, err := io.Copy(v, f); err != nil {
		return fmt.Errorf("read blob %s: %w", d, err)
	}
	if !v.Verified() {
		return &corruptBlobError{blob: d}
	}
	c.verified.Store(d, true)
	return nil
}

// HasIntactBlob reports whether the blob d is present with the content its digest names; a corrupt blob counts as
// absent, so that writers (pull, import, build) replace it.
func (c *Cache) HasIntactBlob(d digest.Digest) bool {
	return c.HasBlob(d) && c.verifyBlob(d) == nil
}

// VerifyEntry checks every blob of the cache entry name that the cache holds (indexes, manifests, configs and
// layers; an absent child of a sparse entry is not an error) against its digest, so that an export, a push or a
// build reading the entry never hands on corrupt bytes. The error names the entry and the blob.
func (c *Cache) VerifyEntry(name string) error {
	root, err := c.FindRoot(name)
	if err != nil {
		return err
	}
	return inEntry(name, c.verifyTree(root, 0))
}

// verifyImage checks the blobs of one resolved image of the entry name: what an export of one platform reads.
func (c *Cache) verifyImage(name string, img resolvedImage) error {
	for _, d := range append([]ocispec.Descriptor{img.desc, img.manifest.Config}, img.manifest.Layers...) {
		if err := c.verifyBlob(d.Digest); err != nil {
			return inEntry(name, err)
		}
	}
	return nil
}

// inEntry names the entry in an error about one of its blobs.
func inEntry(name string, err error) error {
	var corrupt *corruptBlobError
	if errors.As(err, &corrupt) {
		corrupt.entry = name
		return corrupt
	}
	if err != nil {
		return fmt.Errorf("cache entry %s: %w", name, err)
	}
	return nil
}

func (c *Cache) verifyTree(d ocispec.Descriptor, depth int) error {
	if depth > 8 {
		return errors.New("indexes nested too deep")
	}
	if err := c.verifyBlob(d.Digest); err != nil {
		if errors.Is(err, os.ErrNotExist) && depth > 0 {
			return nil
		}
		return err
	}
	var m manifestKind
	if err := c.readJSONBlob(d.Digest, &m); err != nil {
		return err
	}
	var children []ocispec.Descriptor
	children = append(children, m.Manifests...)
	if m.Config != nil {
		children = append(children, *m.Config)
	}
	children = append(children, m.Layers...)
	for _, ch := range children {
		if IsIndexMediaType(ch.MediaType) || IsManifestMediaType(ch.MediaType) {
			if err := c.verifyTree(ch, depth+1); err != nil {
				return err
			}
			continue
		}
		if err := c.verifyBlob(ch.Digest); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
