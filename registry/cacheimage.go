package registry

import (
	"bytes"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"

	"github.com/lkpkg/lkpkg/snapshot"
)

// cacheImage is an image manifest in the linuxkit cache seen as a go-containerregistry v1.Image. Its manifest,
// config and layers are the cache's blobs as they are, so whatever pushes it sends BuildKit's bytes and digests.
type cacheImage struct {
	cache     *snapshot.Cache
	raw       []byte
	mediaType types.MediaType
	manifest  *v1.Manifest
}

// imageFromCache reads the image manifest d from the cache.
func imageFromCache(cache *snapshot.Cache, d digest.Digest, mediaType string) (v1.Image, error) {
	raw, err := cache.ReadBlob(d)
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("manifest %s in the cache: %w", d, err)
	}
	mt := types.MediaType(mediaType)
	if m.MediaType != "" {
		mt = m.MediaType
	}
	return partial.CompressedToImage(&cacheImage{cache: cache, raw: raw, mediaType: mt, manifest: m})
}

func (i *cacheImage) RawManifest() ([]byte, error)        { return i.raw, nil }
func (i *cacheImage) MediaType() (types.MediaType, error) { return i.mediaType, nil }
func (i *cacheImage) RawConfigFile() ([]byte, error) {
	return i.cache.ReadBlob(digest.Digest(i.manifest.Config.Digest.String()))
}
func (i *cacheImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if h == i.manifest.Config.Digest {
		return &cacheBlob{i.cache, i.manifest.Config}, nil
	}
	for _, l := range i.manifest.Layers {
		if l.Digest == h {
			return &cacheBlob{i.cache, l}, nil
		}
	}
	return nil, fmt.Errorf("layer %s is not in the manifest", h)
}

// cacheBlob is one blob (layer or config) of a cacheImage.
type cacheBlob struct {
	cache *snapshot.Cache
	desc  v1.Descriptor
}

func (b *cacheBlob) Digest() (v1.Hash, error)            { return b.desc.Digest, nil }
func (b *cacheBlob) Size() (int64, error)                { return b.desc.Size, nil }
func (b *cacheBlob) MediaType() (types.MediaType, error) { return b.desc.MediaType, nil }
func (b *cacheBlob) Compressed() (io.ReadCloser, error) {
	f, err := b.cache.OpenBlob(digest.Digest(b.desc.Digest.String()))
	if err != nil {
		return nil, fmt.Errorf("%w (the cache holds only part of this image; pull or rebuild it)", err)
	}
	return f, nil
}

// rawManifest is a manifest or index to PUT exactly as these bytes.
type rawManifest struct {
	raw       []byte
	mediaType types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mediaType, nil }
