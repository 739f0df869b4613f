package snapshot

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// resolvedImage is an image manifest found in the cache, with its descriptor and parsed content.
type resolvedImage struct {
	desc     ocispec.Descriptor
	manifest ocispec.Manifest
	raw      []byte
}

// resolveImage finds the image manifest of name for platform as linuxkit's findImage does: an image root is
// returned whatever its platform; in an index the child is matched by os and architecture, the variant only
// breaking ties. Attestations (unknown/unknown) never match.
func (c *Cache) resolveImage(name string, platform ocispec.Platform) (resolvedImage, error) {
	root, err := c.FindRoot(name)
	if err != nil {
		return resolvedImage{}, err
	}
	return c.resolveDesc(name, root, platform, 0)
}

func (c *Cache) resolveDesc(name string, d ocispec.Descriptor, platform ocispec.Platform, depth int) (resolvedImage, error) {
	if depth > 8 {
		return resolvedImage{}, fmt.Errorf("%s: indexes nested too deep", name)
	}
	raw, err := c.ReadBlob(d.Digest)
	if err != nil {
		return resolvedImage{}, fmt.Errorf("%s: %w", name, err)
	}
	var m manifestKind
	if err := json.Unmarshal(raw, &m); err != nil {
		return resolvedImage{}, fmt.Errorf("%s: manifest %s does not parse: %w", name, d.Digest, err)
	}
	if !m.isIndex() {
		var man ocispec.Manifest
		if err := json.Unmarshal(raw, &man); err != nil {
			return resolvedImage{}, fmt.Errorf("%s: manifest %s does not parse: %w", name, d.Digest, err)
		}
		if d.MediaType == "" || IsIndexMediaType(d.MediaType) {
			d.MediaType = man.MediaType
		}
		if d.MediaType == "" {
			d.MediaType = ocispec.MediaTypeImageManifest
		}
		return resolvedImage{desc: d, manifest: man, raw: raw}, nil
	}
	var best *ocispec.Descriptor
	var seen []string
	for i := range m.Manifests {
		ch := m.Manifests[i]
		if IsAttestation(ch.Platform) {
			continue
		}
		seen = append(seen, platformString(ch.Platform))
		if ch.Platform.OS != platform.OS || ch.Platform.Architecture != platform.Architecture {
			continue
		}
		if best == nil || (platform.Variant != "" && ch.Platform.Variant == platform.Variant && best.Platform.Variant != platform.Variant) {
			best = &m.Manifests[i]
		}
	}
	if best == nil {
		return resolvedImage{}, fmt.Errorf("%s has no image for platform %s (it has: %s): %w",
			name, platformString(&platform), strings.Join(seen, ", "), ErrNotFound)
	}
	return c.resolveDesc(name, *best, platform, depth+1)
}

// ImageInCache reports whether name is in the cache, complete, for linux/arch: its root is an image, or an index
// with a linux/arch child, and the image manifest, config and every layer blob are present. A name or platform
// that is not there is (false, nil); a corrupt cache is an error.
func (c *Cache) ImageInCache(name, arch string) (bool, error) {
	img, err := c.resolveImage(name, ocispec.Platform{OS: "linux", Architecture: arch})
	if errors.Is(err, ErrNotFound) || errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !c.HasBlob(img.manifest.Config.Digest) {
		return false, nil
	}
	for _, l := range img.manifest.Layers {
		if !c.HasBlob(l.Digest) {
			return false, nil
		}
	}
	return true, nil
}
