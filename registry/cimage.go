package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docker/distribution/registry/api/errcode"
	v2 "github.com/docker/distribution/registry/api/v2"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/pkg/blobinfocache"
	"go.podman.io/image/v5/types"
	"golang.org/x/sync/errgroup"

	"github.com/lkpkg/lkpkg/snapshot"
)

// Pushes send blobs and manifests with containers/image (the engine of skopeo and podman), straight from the
// linuxkit cache (an OCI layout) as they are, so every manifest and index keeps the digest BuildKit gave it.
// containers/image retries a 429 by itself (honouring Retry-After) but no other failure, and takes no HTTP
// transport from its caller; lkpkg therefore drives its destination one blob and one manifest at a time and
// retries each on its own (persist): a retry asks the registry (HEAD) for the blob first, and a failure costs the
// upload of that one blob, never what other blobs committed.

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

// copyToRegistry sends what the cache holds below root to dst's repository: every blob (the configs and layers of
// each image) and then, when root is an index, the manifests below it, by digest; root itself is left to the
// caller, which names it once the blobs are checked. Each blob and manifest goes up on its own and is retried on
// its own (persist), so a failure costs the upload of one blob, never the push; blobs the registry already has,
// or that containers/image's blob-info cache knows in another repository of it (mounted from there), are not sent.
func (p *Pusher) copyToRegistry(ctx context.Context, cache *snapshot.Cache, root ocispec.Descriptor, isIndex bool, dst reference.Named) error {
	dests, err := p.newDestinations(dst, p.BlobInfoCacheDir)
	if err != nil {
		return err
	}
	defer dests.close()
	bic := blobinfocache.DefaultCache(dests.sys)
	if oc, ok := bic.(interface {
		Open()
		Close()
	}); ok { // the SQLite cache: one connection for the push, not one per blob
		oc.Open()
		defer oc.Close()
	}
	blobs := map[v1.Hash]v1.Descriptor{}
	if err := collectBlobs(cache, root, isIndex, blobs); err != nil {
		return err
	}
	repo := reference.TrimNamed(dst).String()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(sendsAtOnce)
	for _, b := range blobs {
		g.Go(func() error {
			retry := false
			return p.persist(gctx, repo+"@"+b.Digest.String(), dests.answers(p), func() error {
				return dests.with(gctx, func(d types.ImageDestination) error {
					err := p.sendBlob(gctx, d, cache, repo, b, bic, retry)
					retry = true
					return err
				})
			})
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if !isIndex {
		return nil
	}
	levels, err := manifestsBelow(cache, root)
	if err != nil {
		return err
	}
	for _, level := range levels { // the deepest first: an index goes up after what it lists
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(sendsAtOnce)
		for _, m := range level {
			g.Go(func() error {
				raw, err := cache.ReadBlob(m.Digest)
				if err != nil {
					return err
				}
				return p.persist(gctx, repo+"@"+m.Digest.String(), dests.answers(p), func() error {
					return dests.with(gctx, func(d types.ImageDestination) error { return d.PutManifest(gctx, raw, &m.Digest) })
				})
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
	}
	return nil
}

// sendsAtOnce is how many blobs (or manifests) go up side by side, as containers/image's copy does.
const sendsAtOnce = 6

// manifestsBelow lists the manifests and indexes below the index root (root excluded), by depth, the deepest first.
func manifestsBelow(cache *snapshot.Cache, root ocispec.Descriptor) ([][]ocispec.Descriptor, error) {
	var byDepth [][]ocispec.Descriptor
	seen := map[digest.Digest]bool{}
	var walk func(d ocispec.Descriptor, depth int) error
	walk = func(d ocispec.Descriptor, depth int) error {
		idx, err := cache.ReadIndex(d.Digest)
		if err != nil {
			return err
		}
		for _, child := range idx.Manifests {
			if seen[child.Digest] {
				continue
			}
			seen[child.Digest] = true
			for len(byDepth) <= depth {
				byDepth = append(byDepth, nil)
			}
			byDepth[depth] = append(byDepth[depth], child)
			if snapshot.IsIndexMediaType(child.MediaType) {
				if err := walk(child, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(root, 0); err != nil {
		return nil, err
	}
	slices.Reverse(byDepth)
	return byDepth, nil
}

// sendBlob puts the cache's blob b in d's repository unless the registry has it there already or can mount it
// from another repository; a retry (after the first try asked that) uploads at once, as each request more is one
// more to lose on a lossy link. The bytes are checked against b's digest as they are read, so a blob damaged in the
// cache is never sent under its name.
func (p *Pusher) sendBlob(ctx context.Context, d types.ImageDestination, cache *snapshot.Cache, repo string, b v1.Descriptor, bic types.BlobInfoCache, retry bool) error {
	info := types.BlobInfo{Digest: digest.Digest(b.Digest.String()), Size: b.Size, MediaType: string(b.MediaType)}
	if !retry {
		if reused, _, err := d.TryReusingBlob(ctx, info, bic, false); err != nil || reused {
			return err
		}
		if p.mountFromElsewhere(ctx, cache, repo, b, bic) {
			return nil
		}
	}
	f, err := cache.OpenBlob(info.Digest)
	if err != nil {
		return err
	}
	defer f.Close()
	body := &checkedBlob{r: f, want: info.Digest, digester: info.Digest.Algorithm().Digester()}
	// Without the digest, PutBlob does not ask with HEAD again what TryReusingBlob has just asked; it computes the
	// digest it commits the upload under from the bytes, which checkedBlob compares with the cache's.
	sent, err := d.PutBlob(ctx, body, types.BlobInfo{Size: info.Size, MediaType: info.MediaType}, bic, false)
	if body.err != nil {
		return body.err
	}
	if err != nil {
		return err
	}
	if sent.Digest != info.Digest {
		return fmt.Errorf("blob %s of the cache was sent as %s: its content no longer matches its digest; remove the "+
			"cache entry (lkpkg cache rm) and build or pull it again", info.Digest, sent.Digest)
	}
	return nil
}

// mountFromElsewhere asks the registry to mount blob b into repo from another repository of it where
// containers/image's blob-info cache has seen it (what skopeo, podman or an earlier push sent there), through
// go-containerregistry, which uploads it itself should the mount be refused. containers/image offers those
// repositories only to its own copy, which records how each blob is compressed, a record its public API cannot
// make. It reports whether the blob went up.
func (p *Pusher) mountFromElsewhere(ctx context.Context, cache *snapshot.Cache, repo string, b v1.Descriptor, bic types.BlobInfoCache) bool {
	dst, err := name.NewRepository(repo)
	if err != nil {
		return false
	}
	scope := types.BICTransportScope{Opaque: dst.RegistryStr()}
	for _, c := range bic.CandidateLocations(docker.Transport, scope, digest.Digest(b.Digest.String()), false) {
		src, err := name.NewRepository(c.Location.Opaque)
		if err != nil || src.Name() == dst.Name() || src.RegistryStr() != dst.RegistryStr() {
			continue
		}
		layer, err := cache.Layer(ocispec.Descriptor{MediaType: string(b.MediaType), Digest: digest.Digest(b.Digest.String()), Size: b.Size})
		if err != nil {
			return false
		}
		if remote.WriteLayer(dst, &remote.MountableLayer{Layer: layer, Reference: src.Digest(b.Digest.String())},
			p.options(ctx)...) == nil {
			bic.RecordKnownLocation(docker.Transport, scope, digest.Digest(b.Digest.String()),
				types.BICLocationReference{Opaque: dst.Name()})
			return true
		}
	}
	return false
}

// checkedBlob reads a cache blob and fails at its end when the bytes do not have the digest the blob is named by.
type checkedBlob struct {
	r        io.Reader
	want     digest.Digest
	digester digest.Digester
	err      error
}

func (c *checkedBlob) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.digester.Hash().Write(p[:n])
	if err == io.EOF && c.digester.Digest() != c.want {
		c.err = fmt.Errorf("blob %s in the cache is damaged (its content has digest %s): remove the cache entry "+
			"(lkpkg cache rm) and build or pull it again", c.want, c.digester.Digest())
		return n, c.err
	}
	return n, err
}

// destinations hands out a containers/image destination for a repository, one shared by the blobs and manifests
// going up together. A destination whose connection set-up (the ping) failed is not handed out again:
// containers/image keeps that error for good, so the next try gets a fresh one.
type destinations struct {
	ref  types.ImageReference
	sys  *types.SystemContext
	host string

	mu   sync.Mutex
	cur  types.ImageDestination
	made []types.ImageDestination
}

// newDestinations reaches dst with the credentials and TLS settings of p, and containers/image's blob-info cache
// in blobInfoCacheDir (its default when empty).
func (p *Remote) newDestinations(dst reference.Named, blobInfoCacheDir string) (*destinations, error) {
	sys, err := p.systemContext(dst, blobInfoCacheDir)
	if err != nil {
		return nil, err
	}
	ref, err := docker.NewReference(dst)
	if err != nil {
		return nil, err
	}
	return &destinations{ref: ref, sys: sys, host: reference.Domain(dst)}, nil
}

// with runs op with the current destination, dropping it if op fails.
func (ds *destinations) with(ctx context.Context, op func(types.ImageDestination) error) error {
	ds.mu.Lock()
	d := ds.cur
	if d == nil {
		var err error
		if d, err = ds.ref.NewImageDestination(ctx, ds.sys); err != nil {
			ds.mu.Unlock()
			return err
		}
		ds.cur = d
		ds.made = append(ds.made, d)
	}
	ds.mu.Unlock()
	err := op(d)
	if err != nil && strings.Contains(err.Error(), "pinging container registry") {
		ds.mu.Lock()
		if ds.cur == d {
			ds.cur = nil
		}
		ds.mu.Unlock()
	}
	return err
}

func (ds *destinations) close() {
	for _, d := range ds.made {
		d.Close()
	}
}

// answers asks, after a failure, whether the registry still answers (see persist).
func (ds *destinations) answers(p *Pusher) func(context.Context) bool {
	return func(ctx context.Context) bool {
		rt, ok := p.transport.(*retryTransport)
		return ok && rt.probeHost(ctx, ds.host)
	}
}

// putManifest stores raw (a manifest or index whose blobs and children the registry has) under dst.
func (p *Pusher) putManifest(ctx context.Context, dst reference.Named, raw []byte) error {
	dests, err := p.newDestinations(dst, "")
	if err != nil {
		return err
	}
	defer dests.close()
	return p.persist(ctx, dst.String(), dests.answers(p), func() error {
		return dests.with(ctx, func(d types.ImageDestination) error {
			if err := d.PutManifest(ctx, raw, nil); err != nil {
				return err
			}
			return d.Commit(ctx, nil)
		})
	})
}

// persist runs op, one blob or manifest of a push, until it succeeds or fails in a way that will not pass. After
// a failure that may pass it asks whether the registry answers at all (answers: a GET /v2/). While it does, the
// link is lossy: op is tried again after the policy's Base, up to its LossyAttempts. While it does not, the
// registry is down or out of reach: the waits grow (about 1, 2, 4, 8 s) and op gives up after the policy's
// Attempts such failures in a row. Each retry is reported.
func (p *Pusher) persist(ctx context.Context, what string, answers func(context.Context) bool, op func() error) error {
	rp := p.Retry.orDefault()
	b := rp.backoff()
	silent := 0
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil || !retryableCopy(err) {
			return p.explainCopy(what, err, attempt)
		}
		if ctx.Err() != nil {
			return p.explainCopy(what, err, attempt)
		}
		lossy := answers(ctx)
		wait := rp.lossyWait()
		if lossy {
			silent = 0
			b = rp.backoff()
		} else {
			silent++
			wait = b.Step()
		}
		if silent >= rp.Attempts || attempt >= rp.LossyAttempts() {
			return p.explainCopy(what, err, attempt)
		}
		if p.retryNotices != nil {
			why := fmt.Sprintf("%d of at most %d", silent+1, rp.Attempts)
			if lossy {
				why = fmt.Sprintf("the registry answers; try %d of at most %d", attempt+1, rp.LossyAttempts())
			}
			fmt.Fprintf(p.retryNotices, "pushing %s failed (%v); retrying in %s (%s)\n", what, err,
				wait.Round(time.Millisecond), why)
		}
		if sleepCtx(ctx, wait) != nil {
			return p.explainCopy(what, err, attempt)
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
