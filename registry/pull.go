package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	resolverconfig "github.com/moby/buildkit/util/resolver/config"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/lkpkg/lkpkg/snapshot"
)

// ErrNotInRegistry says the registry answered that the image does not exist.
var ErrNotInRegistry = errors.New("not in the registry")

// Remote is how lkpkg reaches registries: whose credentials, which hosts over plain HTTP. Puller and Pusher
// share it.
type Remote struct {
	Creds    *Credentials
	Insecure map[string]bool // hosts that may be plain HTTP or self-signed (127.0.0.1 and localhost may be HTTP)
	CAFiles  []string        // extra CAs trusted for every registry (the hosts' ca entries, --cert-file)
	Retry    RetryPolicy     // how failed requests are retried (MaxRetryAfter is fixed by NewRemote and TrustCAs)
	Mirrors  Mirrors         // read images from these first (Puller); pushes ignore them

	transport    http.RoundTripper
	transportErr error     // a CA file that does not load; reported by every operation
	retryNotices io.Writer // where retried failures are reported (ReportRetriesTo)
}

// NewRemote makes a Remote that logs in with creds, reaches the insecure hosts of a Hosts result over HTTP or
// unverified TLS, and trusts the CAs named there.
func NewRemote(creds *Credentials, hosts map[string]resolverconfig.RegistryConfig) Remote {
	r := Remote{Creds: creds, Insecure: map[string]bool{}, Retry: DefaultRetryPolicy()}
	for h, rc := range hosts {
		if (rc.Insecure != nil && *rc.Insecure) || (rc.PlainHTTP != nil && *rc.PlainHTTP) {
			r.Insecure[h] = true
		}
		r.CAFiles = append(r.CAFiles, rc.RootCAs...)
	}
	r.transport, r.transportErr = r.newTransport()
	return r
}

// newTransport is the hosts' transport under the retry layer.
func (p *Remote) newTransport() (http.RoundTripper, error) {
	ht, err := newHostTransport(p.Insecure, p.CAFiles)
	if err != nil {
		return nil, err
	}
	return newRetryTransport(ht, p.Retry, p.retryNotices), nil
}

// ReportRetriesTo makes every failed request that will be retried write a line to w.
func (p *Remote) ReportRetriesTo(w io.Writer) {
	p.retryNotices = w
	p.transport, p.transportErr = p.newTransport()
}

// TrustCAs adds CA certificate files (PEM) trusted for every registry, as linuxkit's --cert-file does, and checks
// that they load.
func (p *Remote) TrustCAs(files ...string) error {
	p.CAFiles = append(p.CAFiles, files...)
	p.transport, p.transportErr = p.newTransport()
	return p.transportErr
}

// Puller copies images from registries into the linuxkit cache.
type Puller struct {
	Remote
}

// Pull copies ref (an index with every child, or one image) into cache and names it name, as linuxkit's
// `cache pull` does, reading from the registry's mirrors first when it has some. Blobs already in the cache are
// not fetched again.
func (p *Puller) Pull(ctx context.Context, cache *snapshot.Cache, ref, cacheName string) (ocispec.Descriptor, error) {
	r, err := p.parse(ref)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	var mirrorErrs []string
	for _, mirror := range p.Mirrors.For(r.Context().RegistryStr()) {
		from, err := mirrored(r, mirror)
		if err == nil {
			from, err = p.parse(from.String()) // plain-HTTP mirrors are insecure hosts
		}
		if err == nil {
			var desc ocispec.Descriptor
			if desc, err = p.pullFrom(ctx, cache, from, from.String(), cacheName); err == nil {
				return desc, nil
			}
		}
		mirrorErrs = append(mirrorErrs, fmt.Sprintf("mirror %s: %v", mirror, err))
	}
	desc, err := p.pullFrom(ctx, cache, r, ref, cacheName)
	if err != nil && len(mirrorErrs) > 0 {
		return desc, fmt.Errorf("%w (after its mirrors failed: %s)", err, strings.Join(mirrorErrs, "; "))
	}
	return desc, err
}

// pullFrom pulls r into the cache as cacheName; shown names r in errors.
func (p *Puller) pullFrom(ctx context.Context, cache *snapshot.Cache, r name.Reference, shown, cacheName string) (ocispec.Descriptor, error) {
	desc, err := p.get(ctx, r)
	if err != nil {
		return ocispec.Descriptor{}, p.explain(shown, err)
	}
	if err := p.store(ctx, cache, r, desc.Descriptor, desc.Manifest); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("pulling %s: %w", shown, err)
	}
	root := ocispec.Descriptor{MediaType: string(desc.MediaType), Digest: digest.Digest(desc.Digest.String()), Size: desc.Size}
	return root, cache.DescriptorWrite(cacheName, root)
}

// store writes a manifest or index and, recursively, everything it references.
func (p *Puller) store(ctx context.Context, cache *snapshot.Cache, repo name.Reference, d v1.Descriptor, raw []byte) error {
	if d.MediaType.IsIndex() {
		idx, err := v1IndexManifest(raw)
		if err != nil {
			return err
		}
		for _, child := range idx.Manifests {
			childRef := repo.Context().Digest(child.Digest.String())
			cd, err := p.get(ctx, childRef)
			if err != nil {
				return p.explain(childRef.String(), err)
			}
			if err := p.store(ctx, cache, repo, cd.Descriptor, cd.Manifest); err != nil {
				return err
			}
		}
	} else if err := p.storeImageBlobs(ctx, cache, repo, raw); err != nil {
		return err
	}
	return cache.WriteBlob(bytes.NewReader(raw), ocispec.Descriptor{Digest: digest.Digest(d.Digest.String()), Size: d.Size})
}

func (p *Puller) storeImageBlobs(ctx context.Context, cache *snapshot.Cache, repo name.Reference, raw []byte) error {
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("parsing a manifest: %w", err)
	}
	for _, b := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		want := ocispec.Descriptor{Digest: digest.Digest(b.Digest.String()), Size: b.Size}
		if cache.HasIntactBlob(want.Digest) { // a corrupt blob is pulled again, replacing it
			continue
		}
		blobRef := repo.Context().Digest(b.Digest.String())
		err := p.again(ctx, func() error {
			layer, err := remote.Layer(blobRef, p.options(ctx)...)
			if err != nil {
				return err
			}
			rc, err := layer.Compressed()
			if err != nil {
				return err
			}
			defer rc.Close()
			return cache.WriteBlob(rc, want) // verified against the digest before it becomes visible
		})
		if err != nil {
			return p.explain(blobRef.String(), err)
		}
	}
	return nil
}

// get fetches the manifest or index ref names, again when the answer was cut off mid-way.
func (p *Remote) get(ctx context.Context, ref name.Reference) (*remote.Descriptor, error) {
	var d *remote.Descriptor
	err := p.again(ctx, func() (err error) {
		d, err = remote.Get(ref, p.options(ctx)...)
		return err
	})
	return d, err
}

func v1IndexManifest(raw []byte) (*v1.IndexManifest, error) {
	idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing an index: %w", err)
	}
	return idx, nil
}

func (p *Remote) parse(ref string) (name.Reference, error) {
	if p.transportErr != nil {
		return nil, p.transportErr
	}
	var opts []name.Option
	if r, err := name.ParseReference(ref); err == nil && p.Insecure[r.Context().RegistryStr()] {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("%q is not an image reference: %w", ref, err)
	}
	return r, nil
}

func (p *Remote) options(ctx context.Context) []remote.Option {
	opts := append([]remote.Option{remote.WithContext(ctx)}, p.Retry.orDefault().options()...)
	if p.transport != nil {
		opts = append(opts, remote.WithTransport(p.transport))
	}
	if p.Creds != nil {
		opts = append(opts, remote.WithAuthFromKeychain(keychain{p.Creds}))
	}
	return opts
}

// explain turns registry errors into messages that say what to do.
func (p *Remote) explain(ref string, err error) error {
	if err == nil {
		return nil
	}
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case 404:
			return fmt.Errorf("%s: %w", ref, ErrNotInRegistry)
		case 401, 403:
			return p.accessRefused(ref, fmt.Sprintf("HTTP %d", te.StatusCode))
		}
		if isRetryStatus(te.StatusCode) {
			return fmt.Errorf("%s: the registry %s answered HTTP %d %s to %d attempts in a row; giving up (it may be "+
				"overloaded or down: try again later): %w", ref, registryOf(ref), te.StatusCode, http.StatusText(te.StatusCode),
				p.attempts(err), err)
		}
	}
	// After the statuses: a registry that answered 503 on HTTP also failed the HTTPS try, which is no hint.
	if hint := connectionHint(ref, err); hint != nil {
		return hint
	}
	if retryable(err) {
		return fmt.Errorf("%s: the connection to the registry %s failed %d times in a row; giving up (check the network, "+
			"or try again later): %w", ref, registryOf(ref), p.attempts(err), err)
	}
	return fmt.Errorf("%s: %w", ref, err)
}

// accessRefused says that the registry of ref refused the login (why: e.g. "HTTP 401"), where credentials were
// looked for and how to give some; never the credentials themselves.
func (p *Remote) accessRefused(ref, why string) error {
	where := "nowhere"
	if p.Creds != nil {
		where = strings.Join(p.Creds.Sources, ", ")
	}
	host := registryOf(ref)
	return fmt.Errorf("%s: the registry %s refused access (%s) %s; credentials were looked for in %s: pass "+
		"--registry-creds <registry>=<user>:<password> or log in with docker or podman", ref, host, why, p.loginOf(host), where)
}

// attempts is how often the request behind err failed in a row: as counted, else as the policy allows.
func (p *Remote) attempts(err error) int {
	if n := p.failedAttempts(err); n > 0 {
		return n
	}
	return p.Retry.orDefault().Attempts
}

// registryOf is the registry host of a reference, or the reference itself when it does not parse.
func registryOf(ref string) string {
	if r, err := name.ParseReference(ref); err == nil {
		return r.Context().RegistryStr()
	}
	return ref
}

// keychain lets go-containerregistry use lkpkg's credential lookup.
type keychain struct{ c *Credentials }

func (k keychain) Resolve(res authn.Resource) (authn.Authenticator, error) {
	ac, err := k.c.Lookup(res.RegistryStr())
	if err != nil {
		return nil, err
	}
	if ac.Username == "" && ac.IdentityToken == "" && ac.RegistryToken == "" {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(authn.AuthConfig{Username: ac.Username, Password: ac.Password,
		IdentityToken: ac.IdentityToken, RegistryToken: ac.RegistryToken}), nil
}

// PullWithArchNames pulls ref into the cache under its full name and, for an index, also names each platform's
// image <name>-<arch>, as `linuxkit cache pull` does.
func (p *Puller) PullWithArchNames(ctx context.Context, cache *snapshot.Cache, fullName string) error {
	root, err := p.Pull(ctx, cache, fullName, fullName)
	if err != nil || !snapshot.IsIndexMediaType(root.MediaType) {
		return err
	}
	idx, err := cache.ReadIndex(root.Digest)
	if err != nil {
		return err
	}
	for _, child := range idx.Manifests {
		arch, ok := snapshot.ImageArch(child)
		if !ok {
			continue
		}
		if err := cache.DescriptorWrite(snapshot.ArchName(fullName, arch), child); err != nil {
			return err
		}
	}
	return nil
}
