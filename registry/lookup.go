package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ErrUnreachable says a registry could not be asked at all: no route, a name that does not resolve, a refused
// connection, or no answer in time.
var ErrUnreachable = errors.New("registry unreachable")

// Platforms lists the platforms of the images ref names in its registry (for a single image, the one its config
// gives), asking once, with no retry, within timeout: a look-up decides whether to build, and a registry that does
// not answer at once must not hold a build back. A missing ref is ErrNotInRegistry; a registry that cannot be
// asked is ErrUnreachable.
func (p *Remote) Platforms(ctx context.Context, ref string, timeout time.Duration) ([]ocispec.Platform, error) {
	return p.platformsAt(ctx, ref, ref, timeout)
}

// Reachable says whether ref can be had from its registry's mirrors or the registry itself, asking each once
// within timeout: nil when one of them holds it.
func (p *Remote) Reachable(ctx context.Context, ref string, timeout time.Duration) error {
	r, err := p.parse(ref)
	if err != nil {
		return err
	}
	for _, mirror := range p.Mirrors.For(r.Context().RegistryStr()) {
		if from, err := mirrored(r, mirror); err == nil {
			if _, err := p.platformsAt(ctx, from.String(), ref, timeout); err == nil {
				return nil
			}
		}
	}
	_, err = p.platformsAt(ctx, ref, ref, timeout)
	return err
}

// platformsAt is Platforms of ref, named shown in errors.
func (p *Remote) platformsAt(ctx context.Context, ref, shown string, timeout time.Duration) ([]ocispec.Platform, error) {
	once := *p
	once.Retry = RetryPolicy{Attempts: 1, Base: time.Second}
	once.retryNotices = nil
	if once.transport, once.transportErr = once.newTransport(); once.transportErr != nil {
		return nil, once.transportErr
	}
	r, err := once.parse(ref)
	if err != nil {
		return nil, err
	}
	ref = shown
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	desc, err := once.get(ctx, r)
	if err != nil {
		var te *transport.Error
		switch {
		case errors.As(err, &te) && te.StatusCode == 404:
			return nil, fmt.Errorf("%s: %w", ref, ErrNotInRegistry)
		case errors.As(err, &te):
			return nil, p.explain(ref, err)
		case ctx.Err() != nil:
			return nil, fmt.Errorf("%s: %w: no answer within %s", registryOf(ref), ErrUnreachable, timeout)
		}
		return nil, fmt.Errorf("%s: %w: %w", registryOf(ref), ErrUnreachable, err)
	}
	if desc.MediaType.IsIndex() {
		idx, err := v1IndexManifest(desc.Manifest)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
		var out []ocispec.Platform
		for _, m := range idx.Manifests {
			if m.MediaType.IsImage() && m.Platform != nil {
				out = append(out, ocispec.Platform{OS: m.Platform.OS, Architecture: m.Platform.Architecture, Variant: m.Platform.Variant})
			}
		}
		return out, nil
	}
	img, err := desc.Image()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("%s: reading its config: %w", ref, err)
	}
	return []ocispec.Platform{{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}}, nil
}
