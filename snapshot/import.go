package snapshot

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// maxIndexSize bounds the index.json read from an imported tar.
const maxIndexSize = 64 << 20

// ImportOCI loads an OCI image layout tar (BuildKit's oci exporter output, `skopeo copy ... oci-archive:`,
// `docker save` from Docker 25+), optionally gzipped, as linuxkit's ImageLoad does: the blobs under blobs/ are
// added, and each descriptor of the tar's index.json is added to the cache's index.json, named after its
// io.containerd.image.name annotation. Unlike linuxkit, a descriptor with only an
// org.opencontainers.image.ref.name keeps that name and replaces an entry of the same name rather than
// duplicating it; descriptors with neither stay unnamed. manifest.json and oci-layout are ignored.
//
// Nothing is added unless the whole tar reads correctly and every blob matches its digest: blobs are staged in
// temporary files first. It returns the descriptors added, with their names set.
func (c *Cache) ImportOCI(r io.Reader) ([]ocispec.Descriptor, error) {
	idx, err := c.importBlobs(r)
	if err != nil {
		return nil, err
	}
	return c.addToIndex(idx)
}

// importBlobs stages every blob of the tar, checks the roots its index.json names, commits the blobs and returns
// that index.json.
func (c *Cache) importBlobs(r io.Reader) (ocispec.Index, error) {
	staged := map[digest.Digest]string{}
	defer func() {
		for _, tmp := range staged {
			os.Remove(tmp)
		}
	}()
	var indexJSON []byte

	br := bufio.NewReader(r)
	var src io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return ocispec.Index{}, fmt.Errorf("import: %w", err)
		}
		src = zr
	}
	tr := tar.NewReader(src)
	entries := 0
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if entries == 0 {
				return ocispec.Index{}, fmt.Errorf("import: the input is not a tar archive (%v): want an OCI image layout tar, "+
					"e.g. from `skopeo copy ... oci-archive:file` or BuildKit's oci exporter", err)
			}
			return ocispec.Index{}, fmt.Errorf("import: reading tar after %d entries: %w (truncated file?)", entries, err)
		}
		entries++
		name := strings.TrimPrefix(path.Clean("/"+hdr.Name), "/")
		switch {
		case hdr.Typeflag != tar.TypeReg:
			// directories, and links that OCI layouts do not use
		case name == "index.json":
			b, err := io.ReadAll(io.LimitReader(tr, maxIndexSize+1))
			if err != nil {
				return ocispec.Index{}, fmt.Errorf("import: reading index.json: %w", err)
			}
			if len(b) > maxIndexSize {
				return ocispec.Index{}, errors.New("import: index.json is larger than 64 MiB")
			}
			indexJSON = b
		case strings.HasPrefix(name, blobsDir+"/"):
			parts := strings.Split(name, "/")
			if len(parts) != 3 {
				continue
			}
			d := digest.NewDigestFromEncoded(digest.Algorithm(parts[1]), parts[2])
			if err := d.Validate(); err != nil {
				continue // not a blob of a supported algorithm; an OCI layout may carry others
			}
			if _, ok := staged[d]; ok || c.HasIntactBlob(d) {
				continue
			}
			tmp, err := c.stageBlob(tr, ocispec.Descriptor{Digest: d, Size: hdr.Size})
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return ocispec.Index{}, fmt.Errorf("import: %s: the tar is truncated", name)
			}
			if err != nil {
				return ocispec.Index{}, fmt.Errorf("import: %s: %w", name, err)
			}
			staged[d] = tmp
		}
	}
	if indexJSON == nil {
		return ocispec.Index{}, errors.New("import: the tar has no index.json, so it is not an OCI image layout " +
			"(a `docker save` tar from Docker before 25 has only manifest.json; convert it with " +
			"`skopeo copy docker-archive:in.tar oci-archive:out.tar`)")
	}
	var idx ocispec.Index
	if err := json.Unmarshal(indexJSON, &idx); err != nil {
		return ocispec.Index{}, fmt.Errorf("import: index.json of the tar does not parse: %w", err)
	}
	// Every root must be here and be a manifest or index; its children may be absent (sparse layouts are legal).
	for i, d := range idx.Manifests {
		if err := d.Digest.Validate(); err != nil {
			return ocispec.Index{}, fmt.Errorf("import: index.json manifests[%d]: bad digest %q", i, d.Digest)
		}
		p, ok := staged[d.Digest]
		if !ok {
			p, _ = c.blobPath(d.Digest)
		}
		fi, err := os.Stat(p)
		if err != nil {
			return ocispec.Index{}, fmt.Errorf("import: index.json names %s, which is neither in the tar nor in the cache", d.Digest)
		}
		if fi.Size() > maxManifestSize {
			return ocispec.Index{}, fmt.Errorf("import: %s named in index.json is too large for an image manifest or index", d.Digest)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return ocispec.Index{}, fmt.Errorf("import: %w", err)
		}
		var m manifestKind
		if err := json.Unmarshal(b, &m); err != nil || (m.Config == nil && m.Manifests == nil) {
			return ocispec.Index{}, fmt.Errorf("import: %s named in index.json is not an image manifest or index", d.Digest)
		}
	}
	for d, tmp := range staged {
		if err := c.commitBlob(tmp, d); err != nil {
			return ocispec.Index{}, err
		}
		delete(staged, d)
	}

	return idx, nil
}

// addToIndex names the descriptors of an imported index.json in the cache's, as ImportOCI describes.
func (c *Cache) addToIndex(idx ocispec.Index) ([]ocispec.Descriptor, error) {
	var added []ocispec.Descriptor
	err := c.updateIndex(func(cidx *ocispec.Index) error {
		for _, d := range idx.Manifests {
			name := d.Annotations[AnnotationImageName]
			if name == "" {
				name = d.Annotations[AnnotationRefName]
			}
			if name == "" {
				if !c.HasBlob(d.Digest) {
					return fmt.Errorf("import: blob %s vanished (concurrent `cache rm`?); retry", d.Digest)
				}
				if !hasUnnamed(*cidx, d.Digest) {
					cidx.Manifests = append(cidx.Manifests, d)
				}
				added = append(added, d)
				continue
			}
			if err := c.putNamedLocked(cidx, name, d); err != nil {
				return err
			}
			added = append(added, cidx.Manifests[len(cidx.Manifests)-1])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return added, nil
}

func hasUnnamed(idx ocispec.Index, d digest.Digest) bool {
	for _, m := range idx.Manifests {
		if m.Digest == d && m.Annotations[AnnotationRefName] == "" {
			return true
		}
	}
	return false
}
