package snapshot

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// maxManifestSize bounds the manifests and indexes read while walking the graph (registries accept at least 4 MiB;
// anything larger is not a manifest lkpkg or linuxkit wrote).
const maxManifestSize = 4 << 20

// reachable adds to seen every blob reachable from d: d itself and, for manifests and indexes present in the
// cache, their children, config, layers and subject. Layers and configs are never read, and missing blobs are
// fine (a cache is sparse by design).
func (c *Cache) reachable(d ocispec.Descriptor, seen map[digest.Digest]bool) {
	if seen[d.Digest] {
		return
	}
	seen[d.Digest] = true
	if d.MediaType != "" && !IsIndexMediaType(d.MediaType) && !IsManifestMediaType(d.MediaType) {
		return
	}
	p, err := c.blobPath(d.Digest)
	if err != nil {
		return
	}
	if fi, err := os.Stat(p); err != nil || fi.Size() > maxManifestSize {
		return
	}
	b, err := os.ReadFile(p)
	if err != nil || len(b) == 0 || b[0] != '{' {
		return
	}
	var m manifestKind
	if json.Unmarshal(b, &m) != nil {
		return
	}
	var next []ocispec.Descriptor
	next = append(next, m.Manifests...)
	next = append(next, m.Layers...)
	next = append(next, m.Blobs...)
	if m.Config != nil {
		next = append(next, *m.Config)
	}
	if m.Subject != nil {
		next = append(next, *m.Subject)
	}
	for _, n := range next {
		if n.Digest.Validate() == nil {
			c.reachable(n, seen)
		}
	}
}

// collectLocked deletes the blobs reachable from candidates that no descriptor of idx (named or not) reaches.
// Only candidates are considered, never the whole blobs directory: another process may be writing blobs that
// its index.json update has not named yet. The caller holds the lock and has already written idx.
func (c *Cache) collectLocked(idx ocispec.Index, candidates []ocispec.Descriptor) error {
	doomed := map[digest.Digest]bool{}
	for _, d := range candidates {
		c.reachable(d, doomed)
	}
	if len(doomed) == 0 {
		return nil
	}
	live := map[digest.Digest]bool{}
	for _, d := range idx.Manifests {
		c.reachable(d, live)
	}
	dirs := map[string]bool{}
	var errs []error
	for d := range doomed {
		if live[d] {
			continue
		}
		p, err := c.blobPath(d)
		if err != nil {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		dirs[filepath.Dir(p)] = true
	}
	for dir := range dirs {
		if err := syncDir(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Remove removes the named entries, then deletes the blobs they used that no remaining entry uses (linuxkit's
// `cache rm` deletes them even when other images share them). Every name must exist; if one does not, nothing
// is removed.
func (c *Cache) Remove(names ...string) error {
	return withLock(c.dir, func() error {
		idx, err := c.readIndexLocked()
		if err != nil {
			return err
		}
		drop := map[string]bool{}
		var missing []string
		for _, n := range names {
			if _, err := findName(idx, n); err != nil {
				missing = append(missing, n)
			}
			drop[n] = true
		}
		if len(missing) > 0 {
			return fmt.Errorf("%s: %w (see `lkpkg cache ls`)", strings.Join(missing, ", "), ErrNotFound)
		}
		var candidates []ocispec.Descriptor
		kept := idx.Manifests[:0:0]
		for _, d := range idx.Manifests {
			if drop[d.Annotations[AnnotationRefName]] {
				candidates = append(candidates, d)
				continue
			}
			kept = append(kept, d)
		}
		idx.Manifests = kept
		if err := c.writeIndexLocked(idx); err != nil {
			return err
		}
		return c.collectLocked(idx, candidates)
	})
}

// Clean empties the cache: every entry, blob and temporary file goes, and an empty, valid layout (oci-layout and
// an empty index.json) remains. The directory and its .lock stay, unlike linuxkit's `cache clean`, which removes
// the directory: a concurrent lkpkg or linuxkit waiting on the lock then finds a valid, empty cache rather than a
// vanished one.
func (c *Cache) Clean() error {
	return withLock(c.dir, func() error {
		// index.json first: a crash part-way leaves an empty cache with orphan blobs, never dangling names.
		if err := c.writeIndexLocked(newIndex(nil)); err != nil {
			return err
		}
		entries, err := os.ReadDir(c.dir)
		if err != nil {
			return err
		}
		var errs []error
		for _, e := range entries {
			switch name := e.Name(); name {
			case lockFileName, indexFile, layoutFile:
			default:
				if err := os.RemoveAll(filepath.Join(c.dir, name)); err != nil {
					errs = append(errs, err)
				}
			}
		}
		if err := c.initLocked(); err != nil {
			errs = append(errs, err)
		}
		if err := syncDir(c.dir); err != nil {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
}
