package executor

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/platforms"
	"github.com/moby/buildkit/util/contentutil"
	"github.com/moby/buildkit/util/leaseutil"
	"github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// preload copies, in the background, the blobs of the images a request reads from OCI stores (its base images and
// SBOM scanner in the linuxkit cache) into the in-process worker's content store, for the platforms it builds.
// BuildKit would otherwise copy each through the session, an in-process gRPC stream, when it first needs it; finding
// it present, it takes it as is. The copies are held by a temporary lease until done is called, after the solve:
// by then BuildKit holds what it uses, and garbage collection takes the rest. Preloading only saves time: a blob
// it cannot copy is fetched through the session as before, which reports what is wrong with it.
func (e *Engine) preload(ctx context.Context, req SolveRequest, stores map[string]content.Store) (done func()) {
	stored := req.ociImages()
	if len(stored) == 0 {
		return func() {}
	}
	// The copies stop with the solve (an interrupted build waits for none); the lease is released regardless.
	lctx, release, err := leaseutil.WithLease(ctx, e.worker.worker.LeaseManager(),
		leases.WithExpiration(time.Hour), leaseutil.MakeTemporary)
	if err != nil {
		return func() {}
	}
	want := platformMatcher(req.Platform)
	store := e.worker.worker.ContentStore()
	var wg sync.WaitGroup
	for _, im := range stored {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = preloadBlobs(lctx, store, stores[im.store], im.digest, want)
		}()
	}
	return func() {
		wg.Wait()
		_ = release(context.WithoutCancel(ctx))
	}
}

// ociImage is an image in one of a request's OCI stores.
type ociImage struct {
	store  string
	digest digest.Digest
}

// ociImages lists the images the request names in its OCI stores: oci-layout named contexts and FromCache entries.
func (req SolveRequest) ociImages() []ociImage {
	var refs []string
	for _, v := range req.NamedContexts {
		if ref, ok := strings.CutPrefix(v, "oci-layout://"); ok {
			refs = append(refs, ref)
		}
	}
	for _, v := range req.FromCache {
		refs = append(refs, v)
	}
	seen := map[ociImage]bool{}
	var images []ociImage
	for _, ref := range refs {
		store, dgst, ok := strings.Cut(ref, "@")
		d, err := digest.Parse(dgst)
		im := ociImage{store: store, digest: d}
		if !ok || err != nil || req.OCIStores[store] == "" || seen[im] {
			continue
		}
		seen[im] = true
		images = append(images, im)
	}
	return images
}

// platformMatcher matches the platforms of a request's comma-separated list (the host's when empty).
func platformMatcher(list string) platforms.MatchComparer {
	var specs []ocispecs.Platform
	for _, p := range strings.Split(list, ",") {
		if s, err := platforms.Parse(strings.TrimSpace(p)); err == nil {
			specs = append(specs, s)
		}
	}
	if len(specs) == 0 {
		specs = append(specs, platforms.DefaultSpec())
	}
	return platforms.Any(specs...)
}

// preloadBlobs copies the image root names from src into store, for the platforms want matches: the index or
// manifest, and what it refers to (containerd's image walk, BuildKit's copy, which leaves what store has alone).
func preloadBlobs(ctx context.Context, store content.Ingester, src content.Provider, root digest.Digest, want platforms.MatchComparer) error {
	desc, err := rootDescriptor(ctx, src, root)
	if err != nil {
		return err
	}
	copyBlob := images.HandlerFunc(func(ctx context.Context, desc ocispecs.Descriptor) ([]ocispecs.Descriptor, error) {
		return nil, contentutil.Copy(ctx, store, src, desc, remotes.MakeRefKey(ctx, desc), nil)
	})
	return images.Walk(ctx, images.Handlers(copyBlob, images.FilterPlatforms(images.ChildrenHandler(src), want)), desc)
}

// rootDescriptor describes the blob d, which a named context gives by digest only: its size, and its media type as
// the blob says (an index when it has manifests, else a manifest), which the walk needs to find children.
func rootDescriptor(ctx context.Context, src content.Provider, d digest.Digest) (ocispecs.Descriptor, error) {
	data, err := content.ReadBlob(ctx, src, ocispecs.Descriptor{Digest: d})
	if err != nil {
		return ocispecs.Descriptor{}, err
	}
	var m struct {
		MediaType string            `json:"mediaType"`
		Manifests []json.RawMessage `json:"manifests"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return ocispecs.Descriptor{}, fmt.Errorf("blob %s is not an image index or manifest: %w", d, err)
	}
	switch {
	case m.MediaType != "":
	case m.Manifests != nil:
		m.MediaType = ocispecs.MediaTypeImageIndex
	default:
		m.MediaType = ocispecs.MediaTypeImageManifest
	}
	return ocispecs.Descriptor{MediaType: m.MediaType, Digest: d, Size: int64(len(data))}, nil
}
