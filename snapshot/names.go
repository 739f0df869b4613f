package snapshot

import (
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The names linuxkit gives images and platforms, spelled here only: per-arch names, platform strings, the keys
// that say when two index children are the same platform, and lkpkg's order of an index's children. The
// docker.io/ expansion of a short name is frontend.ExpandReference (the tag of a package is made there).

// ArchName is the name linuxkit gives one platform's image of a package tag in its cache and registry:
// <repo>:<tag>-<arch>, next to the multi-arch index <repo>:<tag>.
func ArchName(name, arch string) string { return name + "-" + arch }

// ImageArch is the architecture of an index child that is a platform's image, for its ArchName; ok is false for
// an attestation (no platform, or unknown) and a child that names no architecture.
func ImageArch(d ocispec.Descriptor) (arch string, ok bool) {
	if d.Platform == nil || d.Platform.Architecture == "" || d.Platform.Architecture == "unknown" {
		return "", false
	}
	return d.Platform.Architecture, true
}

// IsAttestation says whether a child of this platform is not a runnable image: no platform, or unknown/unknown
// (BuildKit's attestation manifests).
func IsAttestation(p *ocispec.Platform) bool {
	return p == nil || (p.OS == "unknown" && p.Architecture == "unknown")
}

// ParsePlatform parses os/arch[/variant], e.g. linux/arm64 or linux/arm/v7. An empty string is linux/<GOARCH>.
func ParsePlatform(s string) (ocispec.Platform, error) {
	if s == "" {
		return ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH}, nil
	}
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" || (len(parts) == 3 && parts[2] == "") {
		return ocispec.Platform{}, fmt.Errorf("bad platform %q: want os/arch or os/arch/variant, e.g. linux/amd64", s)
	}
	p := ocispec.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// PlatformArch is the architecture part of an os/arch[/variant] platform.
func PlatformArch(platform string) string {
	parts := strings.Split(platform, "/")
	if len(parts) < 2 {
		return platform
	}
	return parts[1]
}

// HostPlatform is linux/<GOARCH> of this binary.
func HostPlatform() string { return "linux/" + runtime.GOARCH }

func platformString(p *ocispec.Platform) string {
	if p == nil {
		return "(none)"
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// cacheMergeKey is linuxkit's identity of an index child when a cache write merges indexes (IndexWriteNamed):
// os/arch/os.version, the variant ignored.
func cacheMergeKey(p *ocispec.Platform) string {
	return p.OS + "/" + p.Architecture + "/" + p.OSVersion
}

// RegistryMergeKey is linuxkit's identity of an index child when a push merges the local index with the
// registry's (AppendIndex): os/arch/variant.
func RegistryMergeKey(p *ocispec.Platform) string {
	return p.OS + "/" + p.Architecture + "/" + p.Variant
}

// CanonicalOrder returns an index's children in lkpkg's one order, so that an index's bytes (and digest) depend on
// what it holds, never on the order its platforms were built, pulled or merged in: images sorted by platform
// (os/architecture/variant/os.version, then digest), each followed by the attestations that describe it
// (vnd.docker.reference.digest, by digest), then any other child without a platform, by digest.
func CanonicalOrder(children []ocispec.Descriptor) []ocispec.Descriptor {
	var images, others []ocispec.Descriptor
	describes := map[digest.Digest][]ocispec.Descriptor{}
	for _, d := range children {
		switch ref, ok := d.Annotations[AnnotationReferenceDigest]; {
		case !IsAttestation(d.Platform):
			images = append(images, d)
		case ok:
			describes[digest.Digest(ref)] = append(describes[digest.Digest(ref)], d)
		default:
			others = append(others, d)
		}
	}
	byDigest := func(a, b ocispec.Descriptor) int { return strings.Compare(string(a.Digest), string(b.Digest)) }
	slices.SortStableFunc(images, func(a, b ocispec.Descriptor) int {
		if c := strings.Compare(platformSortKey(a.Platform), platformSortKey(b.Platform)); c != 0 {
			return c
		}
		return byDigest(a, b)
	})
	out := make([]ocispec.Descriptor, 0, len(children))
	for _, img := range images {
		out = append(out, img)
		atts := describes[img.Digest]
		delete(describes, img.Digest)
		slices.SortStableFunc(atts, byDigest)
		out = append(out, atts...)
	}
	for _, atts := range describes { // attestations of images not in the index
		others = append(others, atts...)
	}
	slices.SortStableFunc(others, byDigest)
	return append(out, others...)
}

func platformSortKey(p *ocispec.Platform) string {
	return p.OS + "/" + p.Architecture + "/" + p.Variant + "/" + p.OSVersion
}
