package snapshot

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// IndexWriteNamed names an OCI index of children, merging them into the index already of that name as linuxkit's
// IndexWrite does, so that per-arch builds accumulate into one multi-arch index:
//   - an existing entry that is an image, not an index, is an error;
//   - a child with a platform other than unknown/unknown replaces the first old child with the same
//     os/arch/osVersion (the variant is ignored); old children that match nothing are kept, in order; then the
//     children that replaced nothing are appended, then the children without a platform or with unknown/unknown
//     (attestations);
//   - duplicates (by digest) are dropped, as is every child whose vnd.docker.reference.digest annotation names a
//     digest no longer in the index (the attestation of a replaced image).
//
// Unlike linuxkit, the children are then put in CanonicalOrder (linuxkit: map order for leftovers), so the index
// has one digest however its platforms came in, and the old index blob is deleted only when no other entry still
// reaches it. The children's blobs must already be in the cache. It
// returns the new root descriptor.
//
// It also names others (name → descriptor, each blob already in the cache; may be nil) in the same index.json
// update: a build's <tag>-<arch> images appear with their multi-arch index, or, if anything fails or lkpkg is
// killed, none of them do.
func (c *Cache) IndexWriteNamed(name string, children []ocispec.Descriptor, others map[string]ocispec.Descriptor) (ocispec.Descriptor, error) {
	if name == "" {
		return ocispec.Descriptor{}, errors.New("cannot write an index without a name")
	}
	if len(children) == 0 {
		return ocispec.Descriptor{}, errors.New("cannot create index without any manifests")
	}
	var root ocispec.Descriptor
	err := withLock(c.dir, func() error {
		idx, err := c.readIndexLocked()
		if err != nil {
			return err
		}
		newIdx := newIndex(nil)
		var old *ocispec.Descriptor
		if d, err := findName(idx, name); err == nil {
			var m manifestKind
			if err := c.readJSONBlob(d.Digest, &m); err != nil {
				return fmt.Errorf("read existing entry %s: %w", name, err)
			}
			if !m.isIndex() {
				return fmt.Errorf("image named %s already exists in cache and is not an index", name)
			}
			if err := c.readJSONBlob(d.Digest, &newIdx); err != nil {
				return fmt.Errorf("read existing entry %s: %w", name, err)
			}
			newIdx.Manifests = CanonicalOrder(mergeChildren(newIdx.Manifests, children))
			old = &d
		} else {
			newIdx.Manifests = CanonicalOrder(children)
		}
		// linuxkit writes compact JSON for the indexes it makes.
		b, err := json.Marshal(newIdx)
		if err != nil {
			return err
		}
		desc, err := c.writeBlobBytes(b, ocispec.MediaTypeImageIndex)
		if err != nil {
			return err
		}
		for _, other := range slices.Sorted(maps.Keys(others)) {
			if err := c.putNamedLocked(&idx, other, others[other]); err != nil {
				return err
			}
		}
		if err := c.putNamedLocked(&idx, name, desc); err != nil { // last: root below is the index
			return err
		}
		if err := c.writeIndexLocked(idx); err != nil {
			return err
		}
		root = idx.Manifests[len(idx.Manifests)-1]
		if old != nil && old.Digest != desc.Digest {
			// Collected after index.json no longer names it, and only if nothing else reaches it.
			return c.collectLocked(idx, []ocispec.Descriptor{*old})
		}
		return nil
	})
	return root, err
}

// mergeChildren is the merge of IndexWriteNamed (linuxkit cache/write.go), with a deterministic order.
func mergeChildren(old, add []ocispec.Descriptor) []ocispec.Descriptor {
	replace := map[string]int{} // platform key → position in add
	var replaceOrder []int
	var nonReplace []ocispec.Descriptor
	for i, d := range add {
		if IsAttestation(d.Platform) {
			nonReplace = append(nonReplace, d)
			continue
		}
		k := cacheMergeKey(d.Platform)
		if _, dup := replace[k]; !dup {
			replaceOrder = append(replaceOrder, i)
		}
		replace[k] = i // as with linuxkit's map, the last child of a platform wins
	}
	var merged []ocispec.Descriptor
	referenced := map[digest.Digest]bool{}
	used := map[int]bool{}
	for _, m := range old {
		if m.Platform != nil {
			if i, ok := replace[cacheMergeKey(m.Platform)]; ok && !used[i] {
				merged = append(merged, add[i])
				referenced[add[i].Digest] = true
				used[i] = true
				continue
			}
		}
		merged = append(merged, m)
		referenced[m.Digest] = true
	}
	for _, first := range replaceOrder {
		i := replace[cacheMergeKey(add[first].Platform)]
		if used[i] {
			continue
		}
		used[i] = true
		merged = append(merged, add[i])
		referenced[add[i].Digest] = true
	}
	for _, d := range nonReplace {
		merged = append(merged, d)
		referenced[d.Digest] = true
	}
	out := []ocispec.Descriptor{}
	seen := map[digest.Digest]bool{}
	for _, m := range merged {
		if seen[m.Digest] {
			continue
		}
		if ref, ok := m.Annotations[AnnotationReferenceDigest]; ok && !referenced[digest.Digest(ref)] {
			continue // an attestation of something no longer in the index
		}
		seen[m.Digest] = true
		out = append(out, m)
	}
	return out
}
