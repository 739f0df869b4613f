package snapshot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const (
	// AnnotationRefName names a cache entry; linuxkit stores the full reference (docker.io/linuxkit/init:<hash>).
	AnnotationRefName = ocispec.AnnotationRefName
	// AnnotationImageName is the name BuildKit's OCI exporter (and docker save) puts on index.json descriptors;
	// ImportOCI names entries after it, as linuxkit does.
	AnnotationImageName = "io.containerd.image.name"
	// AnnotationReferenceDigest ties an attestation manifest to the image manifest it describes.
	AnnotationReferenceDigest = "vnd.docker.reference.digest"

	indexFile  = "index.json"
	layoutFile = ocispec.ImageLayoutFile
	blobsDir   = ocispec.ImageBlobsDir
	tmpPrefix  = ".tmp-"
	// staleTemp is how old a temporary file left in the cache dir must be before OpenCache removes it: old enough
	// that no live writer can still own it.
	staleTemp = 24 * time.Hour
)

// ErrNotFound is wrapped by errors about names that are not in the cache.
var ErrNotFound = errors.New("not found in the linuxkit cache")

// Cache is a linuxkit cache directory. Its methods are safe for concurrent use by goroutines and by other
// processes (lkpkg or linuxkit) that take the same lock.
type Cache struct {
	dir      string
	verified sync.Map // digest.Digest → true: blobs hashed and found intact by this process
}

// DefaultDir is linuxkit's default cache directory, ~/.linuxkit/cache.
func DefaultDir() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the default cache directory (~/.linuxkit/cache): %w; pass --cache", err)
	}
	return filepath.Join(home, ".linuxkit", "cache"), nil
}

// OpenCache opens the cache in dir, creating the directory, oci-layout and an empty index.json if absent.
func OpenCache(dir string) (*Cache, error) {
	if dir == "" {
		return nil, errors.New("no cache directory given")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, dirPerm); err != nil {
		return nil, fmt.Errorf("create cache directory: %w", err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	c := &Cache{dir: abs}
	if err := withLock(abs, c.initLocked); err != nil {
		return nil, err
	}
	c.removeStaleTemps()
	return c, nil
}

// Dir is the cache directory.
func (c *Cache) Dir() string { return c.dir }

func (c *Cache) initLocked() error {
	if err := os.MkdirAll(filepath.Join(c.dir, blobsDir, string(digest.SHA256)), dirPerm); err != nil {
		return fmt.Errorf("create cache blobs directory: %w", err)
	}
	lp := filepath.Join(c.dir, layoutFile)
	if _, err := os.Stat(lp); errors.Is(err, os.ErrNotExist) {
		// ggcr's layout.Write output, so a fresh cache looks the same whichever tool made it.
		b, _ := json.MarshalIndent(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion}, "", "   ")
		if err := WriteFileAtomic(lp, filePerm, writeBytes(b)); err != nil {
			return fmt.Errorf("create %s: %w", lp, err)
		}
	} else if err != nil {
		return err
	}
	ip := filepath.Join(c.dir, indexFile)
	if _, err := os.Stat(ip); errors.Is(err, os.ErrNotExist) {
		return c.writeIndexLocked(newIndex(nil))
	} else if err != nil {
		return err
	}
	return nil
}

func (c *Cache) removeStaleTemps() {
	entries, _ := os.ReadDir(c.dir)
	for _, e := range entries {
		if !isTemp(e.Name()) {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleTemp {
			os.Remove(filepath.Join(c.dir, e.Name()))
		}
	}
}

func isTemp(name string) bool {
	return strings.HasPrefix(name, tmpPrefix) || strings.HasPrefix(name, "."+indexFile+".tmp-") ||
		strings.HasPrefix(name, "."+layoutFile+".tmp-")
}

func newIndex(manifests []ocispec.Descriptor) ocispec.Index {
	if manifests == nil {
		manifests = []ocispec.Descriptor{}
	}
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: manifests}
	idx.SchemaVersion = 2
	return idx
}

func writeBytes(b []byte) func(io.Writer) error {
	return func(w io.Writer) error { _, err := w.Write(b); return err }
}

// readIndexLocked reads index.json; the caller holds the lock.
func (c *Cache) readIndexLocked() (ocispec.Index, error) {
	path := filepath.Join(c.dir, indexFile)
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return ocispec.Index{}, fmt.Errorf("%s is missing: the cache is not an OCI layout; "+
				"run `lkpkg cache clean` to start a fresh cache", path)
		}
		return ocispec.Index{}, err
	}
	var idx ocispec.Index
	if err := json.Unmarshal(b, &idx); err != nil {
		return ocispec.Index{}, corruptIndexError(path, err)
	}
	for i, d := range idx.Manifests {
		if err := d.Digest.Validate(); err != nil {
			return ocispec.Index{}, corruptIndexError(path, fmt.Errorf("manifests[%d]: bad digest %q: %w", i, d.Digest, err))
		}
	}
	return idx, nil
}

func corruptIndexError(path string, err error) error {
	return fmt.Errorf("linuxkit cache index %s is corrupt (%v); its blobs are intact, but the names are lost: "+
		"run `lkpkg cache clean --cache %s` (or delete the directory) and rebuild or re-import the images",
		path, err, filepath.Dir(path))
}

// writeIndexLocked replaces index.json atomically; the caller holds the lock. The 3-space indent is ggcr's.
func (c *Cache) writeIndexLocked(idx ocispec.Index) error {
	if idx.Manifests == nil {
		idx.Manifests = []ocispec.Descriptor{}
	}
	b, err := json.MarshalIndent(idx, "", "   ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(c.dir, indexFile), filePerm, writeBytes(b))
}

// updateIndex runs fn on index.json under the lock and writes the result if fn returns nil.
func (c *Cache) updateIndex(fn func(*ocispec.Index) error) error {
	return withLock(c.dir, func() error {
		idx, err := c.readIndexLocked()
		if err != nil {
			return err
		}
		if err := fn(&idx); err != nil {
			return err
		}
		return c.writeIndexLocked(idx)
	})
}

func (c *Cache) index() (ocispec.Index, error) {
	var idx ocispec.Index
	err := withLock(c.dir, func() error {
		var err error
		idx, err = c.readIndexLocked()
		return err
	})
	return idx, err
}

// List returns every named entry: name → root descriptor (as stored in index.json).
func (c *Cache) List() (map[string]ocispec.Descriptor, error) {
	idx, err := c.index()
	if err != nil {
		return nil, err
	}
	out := map[string]ocispec.Descriptor{}
	for _, d := range idx.Manifests {
		if name := d.Annotations[AnnotationRefName]; name != "" {
			out[name] = d
		}
	}
	return out, nil
}

// Names returns the names of List, sorted.
func (c *Cache) Names() ([]string, error) {
	m, err := c.List()
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// FindRoot returns the root descriptor (image manifest or index) named name, which must be the exact name in
// index.json (linuxkit stores full references, docker.io/...). A miss wraps ErrNotFound.
func (c *Cache) FindRoot(name string) (ocispec.Descriptor, error) {
	idx, err := c.index()
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return findName(idx, name)
}

func findName(idx ocispec.Index, name string) (ocispec.Descriptor, error) {
	// linuxkit looks for an image first, then an index; with one descriptor per name that is the first match.
	for _, d := range idx.Manifests {
		if d.Annotations[AnnotationRefName] == name {
			return d, nil
		}
	}
	return ocispec.Descriptor{}, fmt.Errorf("%s: %w (see `lkpkg cache ls`)", name, ErrNotFound)
}

// DescriptorWrite names desc in index.json, replacing any entry of that name. Other annotations of desc are
// kept. Its blob must already be in the cache.
func (c *Cache) DescriptorWrite(name string, desc ocispec.Descriptor) error {
	if name == "" {
		return errors.New("cannot write a cache entry without a name")
	}
	return c.updateIndex(func(idx *ocispec.Index) error {
		return c.putNamedLocked(idx, name, desc)
	})
}

// putNamedLocked replaces the entries named name by desc in idx, after checking under the lock that desc's blob
// exists: a concurrent Remove may have collected a blob that a writer found present before it took the lock.
func (c *Cache) putNamedLocked(idx *ocispec.Index, name string, desc ocispec.Descriptor) error {
	p, err := c.blobPath(desc.Digest)
	if err != nil {
		return fmt.Errorf("cannot name %s: %w", name, err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("cannot name %s: blob %s is not in the cache (removed by a concurrent `cache rm` or "+
			"`cache clean`?); write it again and retry", name, desc.Digest)
	}
	if fi.Size() != desc.Size {
		return fmt.Errorf("cannot name %s: descriptor size %d, but blob %s has %d bytes", name, desc.Size, desc.Digest, fi.Size())
	}
	desc.Annotations = cloneMap(desc.Annotations)
	desc.Annotations[AnnotationRefName] = name
	kept := idx.Manifests[:0:0]
	for _, d := range idx.Manifests {
		if d.Annotations[AnnotationRefName] != name {
			kept = append(kept, d)
		}
	}
	idx.Manifests = append(kept, desc)
	return nil
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// readJSONBlob reads and decodes a manifest or index blob.
func (c *Cache) readJSONBlob(d digest.Digest, v any) error {
	b, err := c.ReadBlob(d)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("blob %s does not parse: %w", d, err)
	}
	return nil
}

// manifestKind reads enough of a manifest or index blob to tell which it is, whatever its descriptor says.
type manifestKind struct {
	MediaType string               `json:"mediaType"`
	Manifests []ocispec.Descriptor `json:"manifests"`
	Config    *ocispec.Descriptor  `json:"config"`
	Layers    []ocispec.Descriptor `json:"layers"`
	Subject   *ocispec.Descriptor  `json:"subject"`
	Blobs     []ocispec.Descriptor `json:"blobs"`
}

func (m manifestKind) isIndex() bool {
	switch {
	case IsIndexMediaType(m.MediaType):
		return true
	case IsManifestMediaType(m.MediaType):
		return false
	}
	return m.Config == nil && m.Manifests != nil
}

// Docker's media types, which caches filled from docker or older registries hold.
const (
	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// IsIndexMediaType says whether mt is a multi-platform index: OCI's image index or Docker's manifest list.
func IsIndexMediaType(mt string) bool {
	return mt == ocispec.MediaTypeImageIndex || mt == MediaTypeDockerManifestList
}

// IsManifestMediaType says whether mt is one platform's image manifest, OCI's or Docker's.
func IsManifestMediaType(mt string) bool {
	return mt == ocispec.MediaTypeImageManifest || mt == MediaTypeDockerManifest
}

// FindName returns the first of candidates that names an entry, e.g. a name as the user typed it and then its
// expansion to a full reference. None found wraps ErrNotFound and names the first candidate.
func (c *Cache) FindName(candidates ...string) (string, error) {
	idx, err := c.index()
	if err != nil {
		return "", err
	}
	for _, n := range candidates {
		if _, err := findName(idx, n); err == nil {
			return n, nil
		}
	}
	if len(candidates) == 0 {
		return "", errors.New("no image name given")
	}
	tried := candidates[0]
	if len(candidates) > 1 && candidates[1] != candidates[0] {
		tried += " (or " + strings.Join(candidates[1:], ", ") + ")"
	}
	return "", fmt.Errorf("%s: %w (see `lkpkg cache ls`)", tried, ErrNotFound)
}
