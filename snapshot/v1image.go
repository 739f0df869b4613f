package snapshot

import (
	"encoding/json"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Image is the image manifest d of the cache seen as a go-containerregistry v1.Image. Its manifest, config and
// layers are the cache's blobs as they are (what pushes it sends BuildKit's bytes and digests), read straight from
// blobs/: ggcr's layout package would read index.json without the cache's lock. The media type is the manifest's
// own, else mediaType (its descriptor's).
func (c *Cache) Image(d digest.Digest, mediaType string) (v1.Image, error) {
	raw, err := c.ReadBlob(d)
	if err != nil {
		return nil, err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("manifest %s in the cache: %w", d, err)
	}
	if m.MediaType != "" {
		mediaType = m.MediaType
	}
	return c.v1Image(resolvedImage{desc: ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(raw))},
		manifest: m, raw: raw})
}

// Layer is the blob d of the cache (a layer or a config) as a go-containerregistry layer.
func (c *Cache) Layer(d ocispec.Descriptor) (v1.Layer, error) {
	return partial.CompressedToLayer(&blobLayer{c: c, desc: d})
}

func (c *Cache) v1Image(img resolvedImage) (v1.Image, error) {
	return partial.CompressedToImage(&blobImage{c: c, img: img})
}

type blobImage struct {
	c   *Cache
	img resolvedImage
}

func (b *blobImage) RawManifest() ([]byte, error) { return b.img.raw, nil }

func (b *blobImage) MediaType() (types.MediaType, error) {
	return types.MediaType(b.img.desc.MediaType), nil
}

func (b *blobImage) RawConfigFile() ([]byte, error) {
	return b.c.ReadBlob(b.img.manifest.Config.Digest)
}

func (b *blobImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if h.String() == b.img.manifest.Config.Digest.String() {
		return &blobLayer{c: b.c, desc: b.img.manifest.Config}, nil
	}
	for _, l := range b.img.manifest.Layers {
		if l.Digest.String() == h.String() {
			return &blobLayer{c: b.c, desc: l}, nil
		}
	}
	return nil, fmt.Errorf("blob %s is not part of image %s", h, b.img.desc.Digest)
}

// blobLayer is one blob (layer or config) of the cache.
type blobLayer struct {
	c    *Cache
	desc ocispec.Descriptor
}

func (l *blobLayer) Digest() (v1.Hash, error) { return v1.NewHash(l.desc.Digest.String()) }

func (l *blobLayer) Compressed() (io.ReadCloser, error) {
	f, err := l.c.OpenBlob(l.desc.Digest)
	if err != nil {
		return nil, fmt.Errorf("%w (the cache holds only part of this image; pull or rebuild it)", err)
	}
	return f, nil
}

func (l *blobLayer) Size() (int64, error) { return l.desc.Size, nil }

func (l *blobLayer) MediaType() (types.MediaType, error) {
	return types.MediaType(l.desc.MediaType), nil
}
