package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// blobPath is blobs/<alg>/<encoded>; the digest is validated first, so it cannot point outside the cache.
func (c *Cache) blobPath(d digest.Digest) (string, error) {
	if err := d.Validate(); err != nil {
		return "", fmt.Errorf("bad digest %q: %w", d, err)
	}
	return filepath.Join(c.dir, blobsDir, d.Algorithm().String(), d.Encoded()), nil
}

// HasBlob reports whether the blob with digest d is in the cache.
func (c *Cache) HasBlob(d digest.Digest) bool {
	p, err := c.blobPath(d)
	if err != nil {
		return false
	}
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// OpenBlob opens the blob with digest d. A missing blob wraps os.ErrNotExist.
func (c *Cache) OpenBlob(d digest.Digest) (*os.File, error) {
	p, err := c.blobPath(d)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("blob %s is not in the cache: %w", d, os.ErrNotExist)
	}
	return f, err
}

// ReadBlob returns the content of the blob with digest d; meant for manifests, indexes and configs.
func (c *Cache) ReadBlob(d digest.Digest) ([]byte, error) {
	f, err := c.OpenBlob(d)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	if d.Algorithm().Available() && d.Algorithm().FromBytes(b) != d {
		return nil, &corruptBlobError{blob: d}
	}
	return b, nil
}

// WriteBlob stores the content read from r as the blob desc describes. The content goes to a temporary file in
// the cache directory, is checked against desc.Digest (and desc.Size when it is positive), fsynced and renamed
// into blobs/; a crash leaves at most a temporary file, never a partial blob. If the blob is already present, r is
// not read; if it is present but corrupt, it is replaced.
func (c *Cache) WriteBlob(r io.Reader, desc ocispec.Descriptor) error {
	if c.HasIntactBlob(desc.Digest) {
		return nil
	}
	tmp, err := c.stageBlob(r, desc)
	if err != nil {
		return err
	}
	return c.commitBlob(tmp, desc.Digest)
}

// stageBlob writes r to a verified, fsynced temporary file and returns its path.
func (c *Cache) stageBlob(r io.Reader, desc ocispec.Descriptor) (string, error) {
	if _, err := c.blobPath(desc.Digest); err != nil {
		return "", err
	}
	if !desc.Digest.Algorithm().Available() {
		return "", fmt.Errorf("blob %s: unsupported digest algorithm", desc.Digest)
	}
	f, err := os.CreateTemp(c.dir, tmpPrefix+"blob-*")
	if err != nil {
		return "", fmt.Errorf("write blob %s: %w", desc.Digest, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	verifier := desc.Digest.Verifier()
	if desc.Size > 0 {
		r = io.LimitReader(r, desc.Size+1) // one more byte than promised shows an oversize blob
	}
	n, err := io.Copy(io.MultiWriter(f, verifier), r)
	if err != nil {
		return "", fmt.Errorf("write blob %s: %w", desc.Digest, err)
	}
	if desc.Size > 0 && n != desc.Size {
		return "", fmt.Errorf("blob %s: got %d bytes, descriptor says %d", desc.Digest, n, desc.Size)
	}
	if !verifier.Verified() {
		return "", fmt.Errorf("blob %s: content does not match its digest", desc.Digest)
	}
	if err := c.sealStaged(f, desc.Digest); err != nil {
		return "", err
	}
	ok = true
	return tmp, nil
}

// sealStaged makes a staged blob, checked to be d, readable by all and durable, and closes it: commitBlob may
// then rename it into place.
func (c *Cache) sealStaged(f *os.File, d digest.Digest) error {
	if err := f.Chmod(filePerm); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write blob %s: %w", d, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	c.verified.Store(d, true)
	return nil
}

// commitBlob renames a staged blob into place and makes the rename durable, so an index.json written afterwards
// never names a blob that a crash could lose.
func (c *Cache) commitBlob(tmp string, d digest.Digest) error {
	p, _ := c.blobPath(d)
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write blob %s: %w", d, err)
	}
	return syncDir(dir)
}

// writeBlobBytes stores b under its sha256 digest and returns its descriptor (without media type).
func (c *Cache) writeBlobBytes(b []byte, mediaType string) (ocispec.Descriptor, error) {
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
	return desc, c.WriteBlob(bytes.NewReader(b), desc)
}

// ReadIndex reads and parses the image index blob d (e.g. a per-arch entry's root, to get its children).
func (c *Cache) ReadIndex(d digest.Digest) (ocispec.Index, error) {
	var idx ocispec.Index
	var m manifestKind
	if err := c.readJSONBlob(d, &m); err != nil {
		return idx, err
	}
	if !m.isIndex() {
		return idx, fmt.Errorf("blob %s is an image manifest, not an index", d)
	}
	return idx, c.readJSONBlob(d, &idx)
}

// ReadManifest reads and parses the image manifest blob d.
func (c *Cache) ReadManifest(d digest.Digest) (ocispec.Manifest, error) {
	var man ocispec.Manifest
	var m manifestKind
	if err := c.readJSONBlob(d, &m); err != nil {
		return man, err
	}
	if m.isIndex() {
		return man, fmt.Errorf("blob %s is an index, not an image manifest", d)
	}
	return man, c.readJSONBlob(d, &man)
}
