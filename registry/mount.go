package registry

import (
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/lkpkg/lkpkg/snapshot"
)

// mountSources says, for each layer of the cache's entries named on target's registry but in another repository
// (a FROM image pulled from there, another package pushed there), which repository it may be mounted from. A push
// then asks the registry to mount such a layer rather than upload it; a registry that cannot (the entry was never
// pushed, or mounts are off) starts an ordinary upload instead.
func (p *Remote) mountSources(cache *snapshot.Cache, target name.Repository) map[v1.Hash]name.Repository {
	out := map[v1.Hash]name.Repository{}
	entries, err := cache.List()
	if err != nil {
		return out
	}
	for entry, root := range entries {
		ref, err := p.parse(entry)
		if err != nil || ref.Context().RegistryStr() != target.RegistryStr() || ref.Context().RepositoryStr() == target.RepositoryStr() {
			continue
		}
		manifests := []ocispec.Descriptor{root}
		if isIndexMediaType(root.MediaType) {
			idx, err := cache.ReadIndex(root.Digest)
			if err != nil {
				continue
			}
			manifests = idx.Manifests
		}
		for _, m := range manifests {
			if !isManifestMediaType(m.MediaType) || !cache.HasBlob(m.Digest) {
				continue
			}
			man, err := cache.ReadManifest(m.Digest)
			if err != nil {
				continue
			}
			for _, l := range man.Layers {
				if h, err := v1.NewHash(l.Digest.String()); err == nil {
					if _, seen := out[h]; !seen {
						out[h] = ref.Context()
					}
				}
			}
		}
	}
	return out
}

// mountingImage is an image whose layers found in other repositories of the registry are offered for mounting.
type mountingImage struct {
	v1.Image
	from map[v1.Hash]name.Repository
}

func (m mountingImage) Layers() ([]v1.Layer, error) {
	layers, err := m.Image.Layers()
	if err != nil || len(m.from) == 0 {
		return layers, err
	}
	for i, l := range layers {
		h, err := l.Digest()
		if err != nil {
			continue
		}
		if repo, ok := m.from[h]; ok {
			layers[i] = &remote.MountableLayer{Layer: l, Reference: repo.Digest(h.String())}
		}
	}
	return layers, nil
}
