package snapshot

import (
	"fmt"
	"io"
	"strings"

	ggcrname "github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ArchiveImage is one image of a docker archive, found in the cache by the digest of its manifest or index.
type ArchiveImage struct {
	Ref      string // as the user wrote it (name[:tag]@sha256:…); its tag, if any, becomes the RepoTag
	Digest   digest.Digest
	Platform ocispec.Platform // picks the manifest when Digest is an index
}

// WriteDockerArchive writes the images as one `docker load`-able archive (manifest.json, configs, layers).
// Every image must be complete in the cache.
func (c *Cache) WriteDockerArchive(w io.Writer, images []ArchiveImage) error {
	refs := map[ggcrname.Reference]v1.Image{}
	for _, ai := range images {
		if !c.HasBlob(ai.Digest) {
			return fmt.Errorf("%s: %w", ai.Ref, ErrNotFound)
		}
		img, err := c.resolveDesc(ai.Ref, ocispec.Descriptor{Digest: ai.Digest}, ai.Platform, 0)
		if err != nil {
			return err
		}
		for _, d := range append([]ocispec.Descriptor{img.manifest.Config}, img.manifest.Layers...) {
			if !c.HasBlob(d.Digest) {
				return fmt.Errorf("%s for %s: blob %s is not in the cache", ai.Ref, platformString(&ai.Platform), d.Digest)
			}
		}
		vimg, err := c.v1Image(img)
		if err != nil {
			return err
		}
		ref, err := archiveRef(ai.Ref)
		if err != nil {
			return fmt.Errorf("%q is not a valid image reference: %w", ai.Ref, err)
		}
		refs[ref] = vimg
	}
	return tarball.MultiRefWrite(refs, w)
}

// archiveRef is the reference an image is saved under: name:tag when ref (name[:tag]@digest) has a tag, so that
// `docker load` tags it; the digest reference otherwise (no RepoTag).
func archiveRef(ref string) (ggcrname.Reference, error) {
	named, _, _ := strings.Cut(ref, "@")
	if last := named[strings.LastIndex(named, "/")+1:]; strings.Contains(last, ":") {
		return ggcrname.NewTag(named)
	}
	return ggcrname.ParseReference(ref)
}
