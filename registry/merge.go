package registry

import (
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/lkpkg/lkpkg/snapshot"
)

// MergeIndex merges a local index into the index already in the registry, with linuxkit's rules (AppendIndex and
// cleanDanglingReferences), so that machines pushing different architectures of one tag converge:
//   - every local child is kept, and a local image replaces the remote one of the same os/arch/variant;
//   - remote images of platforms the local index lacks are kept, after the local children;
//   - an attestation (platform unknown/unknown, vnd.docker.reference.digest) is kept only when the manifest it
//     describes is in the result, so the attestation of a replaced image goes with it;
//   - children are unique by digest, in snapshot.CanonicalOrder (so the merged index's digest does not depend on
//     which machine pushed first).
//
// When the remote index already holds every local child, it is returned as it is and unchanged is true: there is
// nothing to push. The result keeps the local index's fields (media type, annotations).
func MergeIndex(local, remote ocispec.Index) (merged ocispec.Index, unchanged bool) {
	remoteDigests := map[digest.Digest]bool{}
	for _, d := range remote.Manifests {
		remoteDigests[d.Digest] = true
	}
	superset := true
	for _, d := range local.Manifests {
		if !remoteDigests[d.Digest] {
			superset = false
			break
		}
	}
	if superset {
		return remote, true
	}

	localPlatforms := map[string]bool{}
	for _, d := range local.Manifests {
		if !snapshot.IsAttestation(d.Platform) {
			localPlatforms[snapshot.RegistryMergeKey(d.Platform)] = true
		}
	}
	children := append([]ocispec.Descriptor(nil), local.Manifests...)
	var remoteAttestations []ocispec.Descriptor
	for _, d := range remote.Manifests {
		switch {
		case snapshot.IsAttestation(d.Platform):
			remoteAttestations = append(remoteAttestations, d)
		case !localPlatforms[snapshot.RegistryMergeKey(d.Platform)]:
			children = append(children, d)
		}
	}
	children = append(children, remoteAttestations...)

	present := map[digest.Digest]bool{}
	for _, d := range children {
		if !snapshot.IsAttestation(d.Platform) {
			present[d.Digest] = true
		}
	}
	merged = local
	merged.Manifests = []ocispec.Descriptor{}
	seen := map[digest.Digest]bool{}
	for _, d := range children {
		if seen[d.Digest] {
			continue
		}
		if ref, ok := d.Annotations[snapshot.AnnotationReferenceDigest]; ok && !present[digest.Digest(ref)] {
			continue // describes an image no longer in the index
		}
		seen[d.Digest] = true
		merged.Manifests = append(merged.Manifests, d)
	}
	merged.Manifests = snapshot.CanonicalOrder(merged.Manifests)
	return merged, false
}
