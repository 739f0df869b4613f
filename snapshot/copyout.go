package snapshot

import (
	"context"
	"fmt"
	"time"

	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/oci/layout"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/types"
)

// CopyOut says how Cache.CopyOut copies.
type CopyOut struct {
	// Platform picks one image of an index (its os/arch/variant; the host's when empty); AllPlatforms copies
	// every image of an index, and the index.
	Platform     types.SystemContext
	AllPlatforms bool
	Destination  *types.SystemContext          // how to reach dst (credentials, TLS, blob-info cache)
	Progress     chan types.ProgressProperties // blob starts and ends; nil for none
}

// CopyOut copies the cache entry cacheName to dst with containers/image, the cache's bytes unchanged, so every
// manifest and index keeps its digest, and returns the manifest (or index) written. The entry is the cache's
// own: no signature policy applies to it. Callers check the entry's blobs first (VerifyEntry), under the
// cache's lock when they hold it.
func (c *Cache) CopyOut(ctx context.Context, cacheName string, dst types.ImageReference, o CopyOut) ([]byte, error) {
	src, err := layout.NewReference(c.dir, cacheName)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cacheName, err)
	}
	// A policy context is not for concurrent use: one per copy.
	policy, err := signature.NewPolicyContext(&signature.Policy{
		Default: signature.PolicyRequirements{signature.NewPRInsecureAcceptAnything()}})
	if err != nil {
		return nil, err
	}
	defer func() { _ = policy.Destroy() }() // an accept-anything policy holds nothing that can fail to close
	opts := &copy.Options{
		PreserveDigests:  true,
		SourceCtx:        &o.Platform,
		DestinationCtx:   o.Destination,
		Progress:         o.Progress,
		ProgressInterval: time.Hour, // only the start and the end of each blob are reported
	}
	if o.AllPlatforms {
		opts.ImageListSelection = copy.CopyAllImages
	}
	return copy.Image(ctx, policy, dst, src, opts)
}
