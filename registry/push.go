package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/docker/reference"
	"golang.org/x/sync/errgroup"

	"github.com/lkpkg/lkpkg/snapshot"
)

// Pusher copies linuxkit cache entries to registries. What it sends are the cache's own bytes, so every manifest
// and index keeps the digest BuildKit gave it; blobs the registry already has (checked with HEAD)
// are not sent again, and blobs containers/image has seen in other repositories of the registry are mounted from
// there when the registry allows.
type Pusher struct {
	Remote
	Log io.Writer // what was pushed, skipped or merged
	// BlobInfoCacheDir holds containers/image's record of which blobs it has seen where (the source of its
	// cross-repository mounts); "" is where skopeo and podman keep theirs (/var/lib/containers/cache,
	// ~/.local/share/containers/cache), so what they pulled or pushed can be mounted too.
	BlobInfoCacheDir string
}

// PushOptions say how Push treats the registry.
type PushOptions struct {
	RemoteName string // push under this reference; "" pushes under the cache name
	ArchTags   bool   // also tag each platform's image manifest <tag>-<arch> (linuxkit's --manifest)
	Override   bool   // replace a remote tag that differs; false leaves any existing remote tag alone
}

// Push pushes the cache entry cacheName (an index with its children, or one image) as linuxkit's cache Push does:
// nothing when the registry already has the same digest; an index is merged with the remote index of the same
// tag (MergeIndex), so pushes of different architectures from different machines converge; with ArchTags each
// local platform's image is also tagged <tag>-<arch>.
func (p *Pusher) Push(ctx context.Context, cache *snapshot.Cache, cacheName string, o PushOptions) error {
	root, err := cache.FindRoot(cacheName)
	if err != nil {
		return err
	}
	if err := cache.VerifyEntry(cacheName); err != nil { // never push bytes that do not match their digests
		return err
	}
	remoteName := cacheName
	if o.RemoteName != "" {
		remoteName = o.RemoteName
	}
	ref, err := p.parse(remoteName)
	if err != nil {
		return err
	}
	existing, err := p.head(ctx, ref)
	if err != nil {
		return err
	}
	if existing != nil && existing.Digest.String() == root.Digest.String() {
		fmt.Fprintf(p.Log, "%s already available on remote registry, skipping push\n", remoteName)
		return nil
	}
	if existing != nil && !o.Override {
		fmt.Fprintf(p.Log, "%s already exists on remote registry (%s), not overriding it\n", remoteName, existing.Digest)
		return nil
	}
	isIndex := snapshot.IsIndexMediaType(root.MediaType)
	if root.MediaType == "" { // an entry written by a tool that left the media type out: look at the blob
		_, err := cache.ReadIndex(root.Digest)
		isIndex = err == nil
	}
	if err := checkComplete(cache, ref.Context().String(), root, isIndex); err != nil {
		return err
	}
	dst, err := cimageDest(remoteName)
	if err != nil {
		return err
	}
	tagged, err := p.tagContent(ctx, cache, ref, root, existing, isIndex)
	if err != nil {
		return err
	}
	if tagged == nil {
		fmt.Fprintf(p.Log, "%s on the remote registry already holds every local platform, leaving it as it is\n", remoteName)
	} else {
		// Everything below the tag goes up by digest first and is checked there; only then does the tag name it,
		// so a failed or interrupted push never leaves the tag naming something incomplete.
		byDigest, err := reference.WithDigest(reference.TrimNamed(dst), root.Digest)
		if err != nil {
			return err
		}
		if err := p.copyToRegistry(ctx, cache, root, isIndex, byDigest); err != nil {
			return err
		}
		if err := p.verifyTree(ctx, cache, ref.Context(), root, isIndex); err != nil {
			return err
		}
		if _, isTag := ref.(name.Tag); isTag {
			err = p.putManifest(ctx, dst, tagged)
		} else {
			err = p.putManifest(ctx, byDigest, tagged)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(p.Log, "Pushed %s (%s)\n", remoteName, digest.FromBytes(tagged))
	}
	if tag, isTag := ref.(name.Tag); isTag && isIndex && o.ArchTags {
		local, err := cache.ReadIndex(root.Digest)
		if err != nil {
			return err
		}
		return p.pushArchTags(ctx, cache, tag, dst, local)
	}
	return nil
}

// tagContent is what the tag is to name after the push: the cache's bytes of root or, when the registry already
// has an index under the tag, the local index merged into it (MergeIndex); nil when that merge changes nothing,
// so nothing needs sending.
func (p *Pusher) tagContent(ctx context.Context, cache *snapshot.Cache, ref name.Reference, root ocispec.Descriptor, existing *v1.Descriptor, isIndex bool) ([]byte, error) {
	raw, err := cache.ReadBlob(root.Digest)
	if err != nil || !isIndex || existing == nil || !existing.MediaType.IsIndex() {
		return raw, err
	}
	local, err := cache.ReadIndex(root.Digest)
	if err != nil {
		return nil, err
	}
	remoteIdx, err := p.getIndex(ctx, ref)
	if err != nil {
		return nil, err
	}
	merged, unchanged := MergeIndex(local, remoteIdx)
	if unchanged {
		return nil, nil
	}
	return json.Marshal(merged)
}

// checkComplete makes sure the cache holds every manifest below root, so a push of a sparse entry (pulled for
// some platforms only) fails before sending anything, saying what to do.
func checkComplete(cache *snapshot.Cache, repo string, root ocispec.Descriptor, isIndex bool) error {
	if !isIndex {
		return nil
	}
	idx, err := cache.ReadIndex(root.Digest)
	if err != nil {
		return err
	}
	for _, child := range idx.Manifests {
		if !cache.HasBlob(child.Digest) {
			return fmt.Errorf("pushing %s: its manifest %s is not in the cache (pull or rebuild it)", repo, child.Digest)
		}
		if err := checkComplete(cache, repo, child, snapshot.IsIndexMediaType(child.MediaType)); err != nil {
			return err
		}
	}
	return nil
}

// verifyTree checks after a push that the registry has each blob (configs and layers) of every image below root
// under its digest and with its size: one HEAD per blob, several at a time. The contents were checked when each
// upload was committed: the registry hashes what it received and must refuse a PUT ?digest= that does not match
// (DIGEST_INVALID, upon which the copy is restarted from the cache's blob). What that leaves is a registry, or
// something in front of it, that acknowledged an upload it did not keep; then the pushed manifest would name
// missing blobs.
func (p *Pusher) verifyTree(ctx context.Context, cache *snapshot.Cache, repo name.Repository, root ocispec.Descriptor, isIndex bool) error {
	blobs := map[v1.Hash]v1.Descriptor{}
	if err := collectBlobs(cache, root, isIndex, blobs); err != nil {
		return err
	}
	puller, err := remote.NewPuller(p.options(ctx)...)
	if err != nil {
		return err
	}
	var g errgroup.Group
	g.SetLimit(8)
	for _, b := range blobs {
		g.Go(func() error { return p.verifyBlob(ctx, puller, repo, b) })
	}
	return g.Wait()
}

// collectBlobs adds the config and layers of every image below root to blobs.
func collectBlobs(cache *snapshot.Cache, root ocispec.Descriptor, isIndex bool, blobs map[v1.Hash]v1.Descriptor) error {
	if !isIndex {
		img, err := cache.Image(root.Digest, root.MediaType)
		if err != nil {
			return err
		}
		m, err := img.Manifest()
		if err != nil {
			return err
		}
		for _, b := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			blobs[b.Digest] = b
		}
		return nil
	}
	idx, err := cache.ReadIndex(root.Digest)
	if err != nil {
		return err
	}
	for _, child := range idx.Manifests {
		if err := collectBlobs(cache, child, snapshot.IsIndexMediaType(child.MediaType), blobs); err != nil {
			return err
		}
	}
	return nil
}

// verifyBlob checks with HEAD that the registry has blob b in repo with its size.
func (p *Pusher) verifyBlob(ctx context.Context, puller *remote.Puller, repo name.Repository, b v1.Descriptor) error {
	ref := repo.Digest(b.Digest.String())
	l, err := puller.Layer(ctx, ref)
	if err != nil {
		return p.explain(ref.String(), err)
	}
	size, err := l.Size() // HEAD /v2/<repository>/blobs/<digest>
	if err != nil {
		if errors.Is(p.explain(ref.String(), err), ErrNotInRegistry) {
			return fmt.Errorf("%s: the registry %s acknowledged the upload of this blob but does not have it: "+
				"the push is incomplete; push again, and check the registry if it persists", ref, repo.RegistryStr())
		}
		return p.explain(ref.String(), err)
	}
	if size >= 0 && size != b.Size {
		return fmt.Errorf("%s: the registry %s holds this blob with %d bytes, the cache with %d: check the registry",
			ref, repo.RegistryStr(), size, b.Size)
	}
	return nil
}

// pushArchTags tags each runnable platform's image manifest of the local index <tag>-<arch>, never
// <tag>-unknown (attestations).
func (p *Pusher) pushArchTags(ctx context.Context, cache *snapshot.Cache, tag name.Tag, dst reference.Named, local ocispec.Index) error {
	for _, child := range local.Manifests {
		arch, ok := snapshot.ImageArch(child)
		if !ok || !snapshot.IsManifestMediaType(child.MediaType) {
			continue
		}
		raw, err := cache.ReadBlob(child.Digest)
		if err != nil {
			return err
		}
		archTag, err := reference.WithTag(reference.TrimNamed(dst), snapshot.ArchName(tag.TagStr(), arch))
		if err != nil {
			return err
		}
		shown := tag.Context().Tag(archTag.Tag())
		existing, err := p.head(ctx, shown)
		if err != nil {
			return err
		}
		if existing != nil && existing.Digest.String() == child.Digest.String() {
			continue
		}
		if err := p.putManifest(ctx, archTag, raw); err != nil {
			return err
		}
		fmt.Fprintf(p.Log, "Tagged %s (%s)\n", shown, child.Digest)
	}
	return nil
}

// head returns the registry's descriptor of ref, or nil when the registry does not have it.
func (p *Remote) head(ctx context.Context, ref name.Reference) (*v1.Descriptor, error) {
	d, err := remote.Head(ref, p.options(ctx)...)
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, p.explain(ref.String(), err)
	}
	return d, nil
}

// getIndex fetches and parses the index ref names.
func (p *Remote) getIndex(ctx context.Context, ref name.Reference) (ocispec.Index, error) {
	var idx ocispec.Index
	d, err := p.get(ctx, ref)
	if err != nil {
		return idx, p.explain(ref.String(), err)
	}
	if err := json.Unmarshal(d.Manifest, &idx); err != nil {
		return idx, fmt.Errorf("%s: the registry's index does not parse: %w", ref, err)
	}
	return idx, nil
}

// ManifestPlatforms are the platforms whose <tag>-<arch> tags PushManifest looks for, as linuxkit's does.
var ManifestPlatforms = []ocispec.Platform{
	{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}, {OS: "linux", Architecture: "s390x"},
	{OS: "linux", Architecture: "riscv64"}, {OS: "linux", Architecture: "ppc64le"},
}

// PushManifest rebuilds the multi-arch index ref from the per-arch tags <tag>-<arch> in the registry alone (no
// cache), merges it with the index already under ref, and pushes it only if that changes it
// (`linuxkit pkg manifest`).
func (p *Pusher) PushManifest(ctx context.Context, refName string) error {
	ref, err := p.parse(refName)
	if err != nil {
		return err
	}
	tag, ok := ref.(name.Tag)
	if !ok {
		return fmt.Errorf("%s: pkg manifest needs a tag, not a digest", refName)
	}
	local := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{}}
	local.SchemaVersion = 2
	for _, pl := range ManifestPlatforms {
		archTag := tag.Context().Tag(snapshot.ArchName(tag.TagStr(), pl.Architecture))
		d, err := p.head(ctx, archTag)
		if err != nil {
			return err
		}
		if d == nil {
			fmt.Fprintf(p.Log, "%s is not in the registry; %s/%s left out of the index\n", archTag, pl.OS, pl.Architecture)
			continue
		}
		if d.MediaType.IsIndex() {
			return fmt.Errorf("%s is an index; per-arch tags must name image manifests", archTag)
		}
		local.Manifests = append(local.Manifests, ocispec.Descriptor{MediaType: string(d.MediaType),
			Digest: digest.Digest(d.Digest.String()), Size: d.Size, Platform: &pl})
	}
	if len(local.Manifests) == 0 {
		return fmt.Errorf("no per-arch tags %s-<arch> in the registry: nothing to make an index of", refName)
	}
	raw, err := json.Marshal(local)
	if err != nil {
		return err
	}
	existing, err := p.head(ctx, ref)
	if err != nil {
		return err
	}
	if existing != nil && existing.MediaType.IsIndex() {
		remoteIdx, err := p.getIndex(ctx, ref)
		if err != nil {
			return err
		}
		merged, unchanged := MergeIndex(local, remoteIdx)
		if unchanged {
			fmt.Fprintf(p.Log, "%s is up to date (%s)\n", refName, existing.Digest)
			return nil
		}
		if raw, err = json.Marshal(merged); err != nil {
			return err
		}
	}
	if existing != nil && existing.Digest.String() == digest.FromBytes(raw).String() {
		fmt.Fprintf(p.Log, "%s is up to date (%s)\n", refName, existing.Digest)
		return nil
	}
	if err := remote.Put(ref, rawManifest{raw, types.OCIImageIndex}, p.options(ctx)...); err != nil {
		return p.explain(refName, err)
	}
	fmt.Fprintf(p.Log, "Pushed %s (%s)\n", refName, digest.FromBytes(raw))
	return nil
}

// RemoteTag makes to name what from names in the registry (`linuxkit pkg remote-tag`): in the same repository the
// manifest is PUT again under the new tag; across repositories everything is copied (every platform of an index),
// with blobs mounted from the source repository where the registry allows. Nothing happens when to already names
// the same digest.
func (p *Pusher) RemoteTag(ctx context.Context, from, to string) error {
	fromRef, err := p.parse(from)
	if err != nil {
		return err
	}
	toRef, err := p.parse(to)
	if err != nil {
		return err
	}
	src, err := p.get(ctx, fromRef)
	if err != nil {
		return p.explain(from, err)
	}
	existing, err := p.head(ctx, toRef)
	if err != nil {
		return err
	}
	if existing != nil && existing.Digest == src.Digest {
		fmt.Fprintf(p.Log, "%s already is %s (%s), nothing to do\n", to, from, src.Digest)
		return nil
	}
	if fromRef.Context() == toRef.Context() {
		err = remote.Put(toRef, rawManifest{src.Manifest, src.MediaType}, p.options(ctx)...)
	} else {
		var pusher *remote.Pusher
		if pusher, err = remote.NewPusher(p.options(ctx)...); err != nil {
			return err
		}
		if src.MediaType.IsIndex() {
			var idx v1.ImageIndex
			if idx, err = src.ImageIndex(); err == nil {
				err = pusher.Push(ctx, toRef, idx)
			}
		} else {
			var img v1.Image
			if img, err = src.Image(); err == nil {
				err = pusher.Push(ctx, toRef, img)
			}
		}
	}
	if err != nil {
		return p.explain(to, err)
	}
	fmt.Fprintf(p.Log, "Tagged %s as %s (%s)\n", from, to, src.Digest)
	return nil
}

// rawManifest is a manifest or index to PUT exactly as these bytes.
type rawManifest struct {
	raw       []byte
	mediaType types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mediaType, nil }
