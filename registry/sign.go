package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/lkpkg/lkpkg/registry/sign"
	"github.com/lkpkg/lkpkg/snapshot"
)

// Signer signs images in a registry with a key pair, offline (no Fulcio, no Rekor), as `cosign sign --key`
// (cosign v3, new bundle format) does: a Sigstore bundle attached as an OCI referrer of each signed digest.
type Signer struct {
	Remote
	Key *sign.PrivateKey
	Log io.Writer // what was signed or found signed already
}

// NewSigner makes a Signer that reaches registries as remote does.
func NewSigner(remote Remote, key *sign.PrivateKey, log io.Writer) *Signer {
	if log == nil {
		log = io.Discard
	}
	return &Signer{Remote: remote, Key: key, Log: log}
}

// Sign signs what refName names in the registry: its digest and, for an index, each platform's image manifest
// (attestation manifests are left out), as `cosign sign --recursive` does. A digest that already carries a
// bundle that verifies with this key is not signed again, so re-pushing an unchanged package adds nothing. It
// returns the digest refName resolved to.
func (s *Signer) Sign(ctx context.Context, refName string) (string, error) {
	return s.sign(ctx, refName, nil)
}

// SignIfDigest is Sign, but only when refName resolves to one of digests: a tag the push left alone (an
// existing release tag is never overwritten) may name something this run did not push, and is not signed.
func (s *Signer) SignIfDigest(ctx context.Context, refName string, digests ...string) error {
	_, err := s.sign(ctx, refName, digests)
	return err
}

func (s *Signer) sign(ctx context.Context, refName string, only []string) (string, error) {
	ref, err := s.parse(refName)
	if err != nil {
		return "", err
	}
	desc, err := s.head(ctx, ref)
	if err != nil {
		return "", err
	}
	if desc == nil {
		return "", fmt.Errorf("%s: %w; nothing to sign", refName, ErrNotInRegistry)
	}
	if only != nil && !slices.Contains(only, desc.Digest.String()) {
		fmt.Fprintf(s.Log, "%s is %s, which this push did not write; not signing it\n", refName, desc.Digest)
		return desc.Digest.String(), nil
	}
	repo := ref.Context()
	targets := []v1.Descriptor{*desc}
	if desc.MediaType.IsIndex() {
		idx, err := s.getIndex(ctx, repo.Digest(desc.Digest.String()))
		if err != nil {
			return "", err
		}
		for _, child := range idx.Manifests {
			if snapshot.IsAttestation(child.Platform) || child.Platform.Architecture == "unknown" || !snapshot.IsManifestMediaType(child.MediaType) {
				continue
			}
			h, err := v1.NewHash(child.Digest.String())
			if err != nil {
				return "", err
			}
			targets = append(targets, v1.Descriptor{MediaType: types.MediaType(child.MediaType), Digest: h, Size: child.Size})
		}
	}
	for _, t := range targets {
		if err := s.signDigest(ctx, repo.Digest(t.Digest.String()), t); err != nil {
			return "", err
		}
	}
	return desc.Digest.String(), nil
}

// signDigest attaches a signature bundle to one digest, unless one made with this key is there already.
func (s *Signer) signDigest(ctx context.Context, subject name.Digest, desc v1.Descriptor) error {
	existing, err := s.referrers(ctx, subject, sign.BundleMediaType)
	if err != nil {
		return err
	}
	public := s.Key.Public()
	for _, r := range existing {
		if _, err := sign.Verify(r.Content, public, subject.DigestStr()); err == nil {
			fmt.Fprintf(s.Log, "%s is already signed with this key (%s)\n", subject, r.Manifest.Digest)
			return nil
		}
	}
	bundle, err := sign.Sign(ctx, s.Key, sign.Subject{Name: subject.Context().Name(), Digest: subject.DigestStr()})
	if err != nil {
		return err
	}
	d, err := s.attach(ctx, subject, desc, sign.BundleMediaType, bundle, map[string]string{
		"org.opencontainers.image.created": createdNow(),
		annotationBundleContent:            "dsse-envelope",
		annotationBundlePredicateType:      sign.PredicateType,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Log, "Signed %s (signature %s)\n", subject, d)
	return nil
}

// ErrNoSignature means the registry holds no signature bundle for the digest.
var ErrNoSignature = errors.New("no signature")

// Verification is what Verify found: the digest the reference resolved to and the signatures that verified.
type Verification struct {
	Ref        string
	Digest     string
	Signatures []VerifiedSignature
}

// VerifiedSignature is one bundle that verified.
type VerifiedSignature struct {
	Referrer string // digest of the referrer manifest carrying the bundle
	sign.Verified
}

// Verify checks, offline but for the registry itself, that what refName names carries a signature made with key:
// it resolves the digest, finds the Sigstore bundles attached to it (referrers API, then the sha256-<hex> tag),
// and checks each bundle's DSSE signature with key and that its statement's subject is that digest. It fails
// when there is no bundle or none verifies, saying why for each.
func (p *Remote) Verify(ctx context.Context, refName string, key *sign.PublicKey) (*Verification, error) {
	ref, err := p.parse(refName)
	if err != nil {
		return nil, err
	}
	desc, err := remote.Head(ref, p.options(ctx)...)
	if err != nil {
		return nil, p.explain(refName, err)
	}
	subject := ref.Context().Digest(desc.Digest.String())
	found, err := p.referrers(ctx, subject, sign.BundleMediaType)
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("%s (%s): %w: no Sigstore bundle is attached to it (looked for referrers and the %s tag)",
			refName, desc.Digest, ErrNoSignature, fallbackTagName(desc.Digest))
	}
	v := &Verification{Ref: refName, Digest: desc.Digest.String()}
	var errs []error
	for _, r := range found {
		got, err := sign.Verify(r.Content, key, desc.Digest.String())
		if err != nil {
			errs = append(errs, fmt.Errorf("signature %s: %w", r.Manifest.Digest, err))
			continue
		}
		v.Signatures = append(v.Signatures, VerifiedSignature{Referrer: r.Manifest.Digest.String(), Verified: *got})
	}
	if len(v.Signatures) == 0 {
		return nil, fmt.Errorf("%s (%s): none of its %d signature(s) verifies with the key %s: %w", refName, desc.Digest,
			len(found), key.Hint(), errors.Join(errs...))
	}
	return v, nil
}

// fallbackTagName is the referrers tag schema's tag for a digest: sha256-<hex>.
func fallbackTagName(d v1.Hash) string { return d.Algorithm + "-" + d.Hex }
