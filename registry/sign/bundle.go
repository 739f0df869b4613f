package sign

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

const (
	// BundleMediaType is the media type of a Sigstore bundle v0.3, also the artifactType of the referrer manifest
	// that carries one.
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// PredicateType is what cosign v3 puts in the in-toto statement of `cosign sign` (an empty predicate: the
	// statement only says "this digest is signed").
	PredicateType = "https://sigstore.dev/cosign/sign/v1"
	// payloadType is the DSSE payload type of an in-toto statement.
	payloadType = "application/vnd.in-toto+json"
)

// Subject is what a signature is over: an image's repository name and its manifest (or index) digest.
type Subject struct {
	Name   string // repository, e.g. registry.example/org/image; informational, the digest is what is signed
	Digest string // "sha256:<hex>"
}

func (s Subject) split() (alg string, hexDigest string, err error) {
	alg, hexDigest, ok := strings.Cut(s.Digest, ":")
	if !ok || alg != "sha256" || len(hexDigest) != 64 {
		return "", "", fmt.Errorf("%q is not a sha256 digest", s.Digest)
	}
	if _, err := hex.DecodeString(hexDigest); err != nil {
		return "", "", fmt.Errorf("%q is not a sha256 digest", s.Digest)
	}
	return alg, hexDigest, nil
}

// statement is the in-toto statement cosign v3 signs for an image: the subject's digest, predicate type
// PredicateType, an empty predicate; serialized with protojson as cosign does.
func statement(s Subject) ([]byte, error) {
	alg, hexDigest, err := s.split()
	if err != nil {
		return nil, err
	}
	st := &intoto.Statement{
		Type:          intoto.StatementTypeUri,
		Subject:       []*intoto.ResourceDescriptor{{Name: s.Name, Digest: map[string]string{alg: hexDigest}}},
		PredicateType: PredicateType,
		Predicate:     &structpb.Struct{},
	}
	return protojson.Marshal(st)
}

// Sign signs subject with key, offline, and returns the Sigstore bundle (JSON): a DSSE envelope of the statement
// and, as verification material, the public key's hint.
func Sign(ctx context.Context, key *PrivateKey, subject Subject) ([]byte, error) {
	payload, err := statement(subject)
	if err != nil {
		return nil, err
	}
	pb, err := sgsign.Bundle(&sgsign.DSSEData{Data: payload, PayloadType: payloadType}, key, sgsign.BundleOptions{Context: ctx})
	if err != nil {
		return nil, fmt.Errorf("signing %s: %w", subject.Digest, err)
	}
	return protojson.Marshal(pb)
}

// Verified is what a bundle that verified says.
type Verified struct {
	Digest        string   // the subject digest that matched
	Names         []string // the statement's subject names
	PredicateType string
	KeyHint       string
}

// ErrWrongKey means the bundle was signed with another key than the one given.
var ErrWrongKey = errors.New("signed with another key than this public key")

// ErrBadSignature means the bundle names the key given but its signature does not verify: it was altered.
var ErrBadSignature = errors.New("the signature is invalid for its content (the bundle was altered)")

// Verify checks a bundle: its DSSE signature with key, that its in-toto statement names digest (sha256:<hex>) as a
// subject, and that the predicate is cosign's signature predicate. No transparency log or timestamp is needed or
// looked for: the key is the trust.
func Verify(bundleJSON []byte, key *PublicKey, digest string) (*Verified, error) {
	alg, hexDigest, err := Subject{Digest: digest}.split()
	if err != nil {
		return nil, err
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(bundleJSON); err != nil {
		return nil, fmt.Errorf("not a valid Sigstore bundle: %w", err)
	}
	if b.GetDsseEnvelope() == nil {
		return nil, errors.New("the bundle holds no DSSE envelope (not a cosign v3 image signature)")
	}
	keyMaterial := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return root.NewExpiringKey(key.verifier, time.Time{}, time.Time{}), nil
	})
	v, err := verify.NewVerifier(keyMaterial, verify.WithNoObserverTimestamps())
	if err != nil {
		return nil, err
	}
	raw, _ := hex.DecodeString(hexDigest)
	res, err := v.Verify(&b, verify.NewPolicy(verify.WithArtifactDigest(alg, raw), verify.WithKey()))
	if err != nil {
		return nil, classify(err, bundleKeyHint(&b), key.hint)
	}
	if res.Statement == nil {
		return nil, errors.New("the bundle holds no in-toto statement")
	}
	if res.Statement.GetPredicateType() != PredicateType {
		return nil, fmt.Errorf("the statement's predicate is %q, not a cosign signature (%s)", res.Statement.GetPredicateType(), PredicateType)
	}
	out := &Verified{Digest: digest, PredicateType: res.Statement.GetPredicateType(), KeyHint: key.hint}
	for _, s := range res.Statement.GetSubject() {
		if s.GetDigest()[alg] == hexDigest && s.GetName() != "" {
			out.Names = append(out.Names, s.GetName())
		}
	}
	return out, nil
}

// bundleKeyHint is the hint of the key the bundle says signed it ("" when it names none).
func bundleKeyHint(b *bundle.Bundle) string {
	if vm := b.GetVerificationMaterial(); vm != nil && vm.GetPublicKey() != nil {
		return vm.GetPublicKey().GetHint()
	}
	return ""
}

// classify tells a signature made by another key from an altered bundle and from a statement about another digest.
func classify(err error, bundleHint, keyHint string) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "does not match any digest in statement"), strings.Contains(msg, "artifact digests do not match"):
		return fmt.Errorf("the signed statement is about another digest: %w", err)
	case strings.Contains(msg, "failed to verify signature") && bundleHint != "" && bundleHint != keyHint:
		return fmt.Errorf("%w (the bundle names key %s, the public key given is %s)", ErrWrongKey, bundleHint, keyHint)
	case strings.Contains(msg, "failed to verify signature"):
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return err
}
