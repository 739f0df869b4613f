package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/moby/buildkit/util/leaseutil"
	"github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// preloadStore is what preloading writes into: the worker's content store.
type preloadStore interface {
	content.Ingester
	content.InfoProvider
}

// preload copies, in the background, the blobs of the images a request reads from OCI stores (its base images and
// SBOM scanner in the linuxkit cache) into the in-process worker's content store, for the platforms it builds.
// BuildKit would otherwise copy each through the session, an in-process gRPC stream, when it first needs it; finding
// it present, it takes it as is. The copies are held by a temporary lease until done is called, after the solve:
// by then BuildKit holds what it uses, and garbage collection takes the rest. Preloading only saves time: a blob
// it cannot copy is fetched through the session as before, which reports what is wrong with it.
func (e *Engine) preload(ctx context.Context, req SolveRequest) (done func()) {
	images := req.ociImages()
	if len(images) == 0 {
		return func() {}
	}
	lctx, release, err := leaseutil.WithLease(context.WithoutCancel(ctx), e.worker.worker.LeaseManager(),
		leases.WithExpiration(time.Hour), leaseutil.MakeTemporary)
	if err != nil {
		return func() {}
	}
	want := platformMatcher(req.Platform)
	store := e.worker.worker.ContentStore()
	var wg sync.WaitGroup
	for _, im := range images {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = preloadBlobs(lctx, store, im.layout, ocispecs.Descriptor{Digest: im.digest}, want)
		}()
	}
	return func() {
		wg.Wait()
		_ = release(context.WithoutCancel(ctx))
	}
}

// ociImage is an image in an OCI layout directory.
type ociImage struct {
	layout string
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
		dir := req.OCIStores[store]
		im := ociImage{layout: dir, digest: d}
		if !ok || err != nil || dir == "" || seen[im] {
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

// preloadBlobs copies the blob desc names from the OCI layout into store unless store has it, then, for an index
// or a manifest, the blobs it refers to: the manifests of the platforms want matches, a manifest's config and
// layers.
func preloadBlobs(ctx context.Context, store preloadStore, layout string, desc ocispecs.Descriptor, want platforms.MatchComparer) error {
	path, err := layoutBlobPath(layout, desc.Digest)
	if err != nil {
		return err
	}
	data, isMeta, err := readIfMeta(path)
	if err != nil {
		return err
	}
	if desc.Size == 0 {
		st, err := os.Stat(path)
		if err != nil {
			return err
		}
		desc.Size = st.Size()
	}
	if err := copyBlob(ctx, store, path, desc); err != nil {
		return err
	}
	if !isMeta {
		return nil
	}
	var m struct {
		MediaType string                `json:"mediaType"`
		Manifests []ocispecs.Descriptor `json:"manifests"`
		Config    *ocispecs.Descriptor  `json:"config"`
		Layers    []ocispecs.Descriptor `json:"layers"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return nil // a layer or a config: nothing it refers to
	}
	children := m.Layers
	if m.Config != nil {
		children = append(children, *m.Config)
	}
	for _, c := range m.Manifests {
		if c.Platform == nil || want.Match(*c.Platform) {
			children = append(children, c)
		}
	}
	var errs []error
	for _, c := range children {
		errs = append(errs, preloadBlobs(ctx, store, layout, c, want))
	}
	return errors.Join(errs...)
}

// readIfMeta returns the blob's content when it is small enough to be an index, a manifest or a config (a JSON
// object); layers are only copied.
func readIfMeta(path string) ([]byte, bool, error) {
	const maxMeta = 4 << 20
	st, err := os.Stat(path)
	if err != nil {
		return nil, false, err
	}
	if st.Size() > maxMeta {
		return nil, false, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, false, err
	}
	return data, len(data) > 0 && data[0] == '{', nil
}

// copyBlob writes the file at path into store as desc, unless store has it; the store checks the digest.
func copyBlob(ctx context.Context, store preloadStore, path string, desc ocispecs.Descriptor) error {
	if _, err := store.Info(ctx, desc.Digest); err == nil {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	// BuildKit's fetch of the same blob uses the same ingest ref, so the two never copy it twice at once.
	err = content.WriteBlob(ctx, store, remotes.MakeRefKey(ctx, desc), f, desc)
	if errdefs.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// layoutBlobPath is where an OCI layout keeps the blob d.
func layoutBlobPath(layout string, d digest.Digest) (string, error) {
	if err := d.Validate(); err != nil {
		return "", fmt.Errorf("blob %q: %w", d, err)
	}
	return filepath.Join(layout, "blobs", d.Algorithm().String(), d.Encoded()), nil
}
