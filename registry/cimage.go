package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/docker/distribution/registry/api/errcode"
	v2 "github.com/docker/distribution/registry/api/v2"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/types"
	"golang.org/x/sync/errgroup"

	"github.com/lkpkg/lkpkg/snapshot"
)

// Pushes copy blobs and manifests with containers/image (the engine of skopeo and podman), straight from the
// linuxkit cache (an OCI layout) with PreserveDigests, so every manifest and index keeps the digest BuildKit gave
// it. containers/image retries a 429 by itself (honouring Retry-After) but no other failure, and takes no HTTP
// transport from its caller; lkpkg therefore restarts a failed copy as a whole (copyAgain). A restarted copy asks
// the registry (HEAD) for each blob first, so it sends only what the failed one did not commit.

// cimageDest is the containers/image reference for name on its registry.
func cimageDest(name string) (reference.Named, error) {
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return nil, fmt.Errorf("%q is not an image reference: %w", name, err)
	}
	return named, nil
}

// systemContext is how containers/image reaches the registry host: the login lkpkg's Credentials give (never
// containers/image's own lookup, so both clients use the same one), the CAs of --cert-file and the hosts' ca
// entries, and unverified TLS or plain HTTP only for hosts marked insecure and for loopback addresses (which
// Docker also treats as insecure by default, and go-containerregistry reaches over HTTP).
func (p *Remote) systemContext(named reference.Named, blobInfoCacheDir string) (*types.SystemContext, error) {
	host := reference.Domain(named)
	sys := &types.SystemContext{
		DockerAuthConfig:        &types.DockerAuthConfig{},
		DockerRegistryUserAgent: "lkpkg",
		BlobInfoCacheDir:        blobInfoCacheDir,
	}
	if p.Creds != nil {
		ac, err := p.Creds.Lookup(host)
		if err != nil {
			return nil, err
		}
		sys.DockerAuthConfig = &types.DockerAuthConfig{Username: ac.Username, Password: ac.Password, IdentityToken: ac.IdentityToken}
		sys.DockerBearerRegistryToken = ac.RegistryToken
	}
	if len(p.CAFiles) > 0 {
		cas, err := readCAs(p.CAFiles)
		if err != nil {
			return nil, err
		}
		sys.BaseTLSConfig = &tls.Config{RootCAs: rootsWith(cas), MinVersion: tls.VersionTLS12}
	}
	hostname, _, err := net.SplitHostPort(host)
	if err != nil {
		hostname = host
	}
	if p.Insecure[host] || p.Insecure[hostname] || isLoopback(hostname) {
		sys.DockerInsecureSkipTLSVerify = types.OptionalBoolTrue
	}
	return sys, nil
}

func isLoopback(hostname string) bool {
	if hostname == "localhost" {
		return true
	}
	ip := net.ParseIP(hostname)
	return ip != nil && ip.IsLoopback()
}

// copyToRegistry copies what the cache entry cacheName (an image, or an index) holds to dst's repository,
// restarting the copy while it fails in a way that may pass. containers/image copies the images of an index one
// after the other, and an index needs them all in place first; so when the cache names every child of an index
// on its own (as a build's <tag>-<arch> entries do), the children are copied side by side and the index is left
// to the caller (rootSent false). Otherwise the entry is copied whole to dst, which names it by digest.
func (p *Pusher) copyToRegistry(ctx context.Context, cache *snapshot.Cache, cacheName string, root ocispec.Descriptor, dst reference.Named) (rootSent bool, err error) {
	sys, err := p.systemContext(dst, p.BlobInfoCacheDir)
	if err != nil {
		return false, err
	}
	children, all := namedChildren(cache, root)
	if !all {
		return true, p.copyAgain(ctx, dst.String(), func(progress chan types.ProgressProperties) error {
			return copyImage(ctx, cache, cacheName, dst, sys, progress)
		})
	}
	return false, p.copyAgain(ctx, dst.String(), func(progress chan types.ProgressProperties) error {
		g, gctx := errgroup.WithContext(ctx)
		for d, name := range children {
			byDigest, err := reference.WithDigest(reference.TrimNamed(dst), d)
			if err != nil {
				return err
			}
			g.Go(func() error { return copyImage(gctx, cache, name, byDigest, sys, progress) })
		}
		return g.Wait()
	})
}

// copyImage is one containers/image copy of the cache entry cacheName to dst, digests preserved.
func copyImage(ctx context.Context, cache *snapshot.Cache, cacheName string, dst reference.Named, sys *types.SystemContext, progress chan types.ProgressProperties) error {
	dstRef, err := docker.NewReference(dst)
	if err != nil {
		return err
	}
	_, err = cache.CopyOut(ctx, cacheName, dstRef, snapshot.CopyOut{AllPlatforms: true, Destination: sys, Progress: progress})
	return err
}

// namedChildren are the cache names of the children of the index root, by digest; all says whether every child
// is an image manifest with a name (false for an image).
func namedChildren(cache *snapshot.Cache, root ocispec.Descriptor) (_ map[digest.Digest]string, all bool) {
	if !isIndexMediaType(root.MediaType) {
		return nil, false
	}
	idx, err := cache.ReadIndex(root.Digest)
	if err != nil || len(idx.Manifests) == 0 {
		return nil, false
	}
	entries, err := cache.List()
	if err != nil {
		return nil, false
	}
	names := map[digest.Digest]string{}
	for name, d := range entries {
		if old, ok := names[d.Digest]; !ok || name < old { // the same name whichever order List gives
			names[d.Digest] = name
		}
	}
	out := map[digest.Digest]string{}
	for _, c := range idx.Manifests {
		name, ok := names[c.Digest]
		if !ok || !isManifestMediaType(c.MediaType) {
			return nil, false
		}
		out[c.Digest] = name
	}
	return out, true
}

// putManifest stores raw (a manifest or index whose blobs and children the registry has) under dst.
func (p *Pusher) putManifest(ctx context.Context, dst reference.Named, raw []byte) error {
	dstRef, err := docker.NewReference(dst)
	if err != nil {
		return err
	}
	sys, err := p.systemContext(dst, "")
	if err != nil {
		return err
	}
	return p.copyAgain(ctx, dst.String(), func(chan types.ProgressProperties) error {
		d, err := dstRef.NewImageDestination(ctx, sys)
		if err != nil {
			return err
		}
		defer d.Close()
		if err := d.PutManifest(ctx, raw, nil); err != nil {
			return err
		}
		return d.Commit(ctx, nil)
	})
}

// copyAgain runs op until it succeeds, fails in a way that will not pass, or has failed the policy's attempts in
// a row without committing a blob: a copy that got further than the one before starts the count again, so a
// flaky network slows a large push down but does not end it while it moves forward. Each retry is reported.
func (p *Pusher) copyAgain(ctx context.Context, what string, op func(progress chan types.ProgressProperties) error) error {
	rp := p.Retry.orDefault()
	b := rp.backoff()
	for failures := 0; ; {
		progress := make(chan types.ProgressProperties)
		committed := make(chan int)
		go func() {
			n := 0
			for e := range progress {
				if e.Event == types.ProgressEventDone {
					n++
				}
			}
			committed <- n
		}()
		err := op(progress)
		close(progress)
		if n := <-committed; n > 0 {
			failures = 0
			b = rp.backoff()
		}
		if err == nil || !retryableCopy(err) {
			return p.explainCopy(what, err, failures+1)
		}
		if failures++; failures >= rp.Attempts {
			return p.explainCopy(what, err, failures)
		}
		wait := b.Step()
		if p.retryNotices != nil {
			fmt.Fprintf(p.retryNotices, "pushing %s failed (%v); retrying in %s (%d of %d)\n", what, err,
				wait.Round(time.Millisecond), failures+1, rp.Attempts)
		}
		if sleepCtx(ctx, wait) != nil {
			return p.explainCopy(what, err, failures)
		}
	}
}

// retryableCopy says whether a failed containers/image copy may succeed if run again.
func retryableCopy(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var unauthorized docker.ErrUnauthorizedForCredentials
	if errors.As(err, &unauthorized) {
		return false
	}
	var status docker.UnexpectedHTTPStatusError
	if errors.As(err, &status) {
		return isRetryStatus(status.StatusCode)
	}
	var ec errcode.Error
	if errors.As(err, &ec) {
		switch ec.ErrorCode() {
		// DIGEST_INVALID: the registry hashed other bytes than the cache's blob, damaged on the way; the next copy
		// reads the blob from the cache again. An upload session the registry lost is started afresh too.
		case v2.ErrorCodeDigestInvalid, v2.ErrorCodeBlobUploadInvalid, v2.ErrorCodeBlobUploadUnknown,
			errcode.ErrorCodeUnavailable, errcode.ErrorCodeTooManyRequests:
			return true
		}
		return ec.ErrorCode().Descriptor().HTTPStatusCode >= http.StatusInternalServerError
	}
	return isNetworkFailure(err) || strings.Contains(err.Error(), "connection reset by peer")
}

// explainCopy turns a failed copy into a message that says what to do.
func (p *Pusher) explainCopy(what string, err error, attempts int) error {
	if err == nil {
		return nil
	}
	var unauthorized docker.ErrUnauthorizedForCredentials
	var ec errcode.Error
	if errors.As(err, &unauthorized) || (errors.As(err, &ec) && (ec.ErrorCode() == errcode.ErrorCodeUnauthorized || ec.ErrorCode() == errcode.ErrorCodeDenied)) {
		return p.accessRefused(what, "unauthorized or denied")
	}
	if errors.As(err, &ec) {
		return fmt.Errorf("%s: the registry %s refused the push (%s, %d attempts in a row): %w", what, registryOf(what),
			ec.ErrorCode().Descriptor().Value, attempts, err)
	}
	if retryableCopy(err) {
		return fmt.Errorf("%s: the connection to the registry %s failed %d times in a row; giving up (check the network, "+
			"or try again later): %w", what, registryOf(what), attempts, err)
	}
	if hint := connectionHint(what, err); hint != nil {
		return hint
	}
	return fmt.Errorf("%s: %w", what, err)
}
