package registry

import (
	"context"

	"github.com/distribution/reference"

	"github.com/lkpkg/lkpkg/snapshot"
)

// Published returns the cache names whose entry the registry has with the very same digest: linuxkit's
// `cache rm|clean --published-only` removes exactly those, keeping what exists only locally. A name whose registry
// cannot be asked (unreachable, refused) is kept and reported in unchecked, so nothing unproven is removed.
func (p *Remote) Published(ctx context.Context, cache *snapshot.Cache, names []string) (out []string, unchecked []error, err error) {
	for _, n := range names {
		root, err := cache.FindRoot(n)
		if err != nil {
			return nil, nil, err
		}
		if named, err := reference.ParseNormalizedNamed(n); err != nil || named.String() != n {
			continue // not a full registry reference (e.g. an imported busybox:fixture): local only
		}
		ref, err := p.parse(n)
		if err != nil {
			continue
		}
		d, err := p.head(ctx, ref)
		if err != nil {
			unchecked = append(unchecked, err)
			continue
		}
		if d != nil && d.Digest.String() == root.Digest.String() {
			out = append(out, n)
		}
	}
	return out, unchecked, nil
}
