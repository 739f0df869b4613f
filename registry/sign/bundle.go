package sign

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	intoto "github.com/in-toto/attestation/go/v1"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// The bundle is built and checked on Sigstore's own protobuf definitions (protobuf-specs) rather than through
// sigstore-go: sigstore-go's bundle, sign and verify packages link Rekor's and Fulcio's REST clients, whose package
// initialisation cost every lkpkg process ≈ 11 ms, and lkpkg starts several processes per RUN step (its container
// runtime is its own binary). Key-based, offline DSSE signing and checking need none of that; the format is the
// same, and the e2e tests hold it to what the stock cosign CLI writes and accepts.

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
// and, as verification material, the public key's hint (no certificate, no transparency log entry), as
// `cosign sign --key` writes it.
func Sign(ctx context.Context, key *PrivateKey, subject Subject) ([]byte, error) {
	payload, err := statement(subject)
	if err != nil {
		return nil, err
	}
	sig, _, err := key.SignData(ctx, preAuthEncoding(payloadType, payload))
	if err != nil {
		return nil, fmt.Errorf("signing %s: %w", subject.Digest, err)
	}
	return protojson.Marshal(&protobundle.Bundle{
		MediaType: BundleMediaType,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: string(key.hint)}},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: payload, PayloadType: payloadType, Signatures: []*protodsse.Signature{{Sig: sig}},
		}},
	})
}

// preAuthEncoding is what a DSSE signature covers (the DSSE v1 protocol's PAE): the payload type and the payload,
// each prefixed with its length, so neither can be reinterpreted as the other.
func preAuthEncoding(payloadType string, payload []byte) []byte {
	return fmt.Appendf(nil, "DSSEv1 %d %s %d %s", len(payloadType), payloadType, len(payload), payload)
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
	var b protobundle.Bundle
	if err := protojson.Unmarshal(bundleJSON, &b); err != nil {
		return nil, fmt.Errorf("not a valid Sigstore bundle: %w", err)
	}
	if !isBundleV03(b.GetMediaType()) {
		return nil, fmt.Errorf("not a valid Sigstore bundle: media type %q, want %s", b.GetMediaType(), BundleMediaType)
	}
	env := b.GetDsseEnvelope()
	if env == nil {
		return nil, errors.New("the bundle holds no DSSE envelope (not a cosign v3 image signature)")
	}
	if env.GetPayloadType() != payloadType {
		return nil, fmt.Errorf("the DSSE payload is %q, not an in-toto statement", env.GetPayloadType())
	}
	if !signedBy(env, key) {
		if hint := bundleKeyHint(&b); hint != "" && hint != key.hint {
			return nil, fmt.Errorf("%w (the bundle names key %s, the public key given is %s)", ErrWrongKey, hint, key.hint)
		}
		return nil, ErrBadSignature
	}
	var st intoto.Statement
	if err := protojson.Unmarshal(env.GetPayload(), &st); err != nil {
		return nil, fmt.Errorf("the signed payload is not an in-toto statement: %w", err)
	}
	if st.GetPredicateType() != PredicateType {
		return nil, fmt.Errorf("the statement's predicate is %q, not a cosign signature (%s)", st.GetPredicateType(), PredicateType)
	}
	out := &Verified{Digest: digest, PredicateType: st.GetPredicateType(), KeyHint: key.hint}
	matched := false
	for _, s := range st.GetSubject() {
		if s.GetDigest()[alg] == hexDigest {
			matched = true
			if s.GetName() != "" {
				out.Names = append(out.Names, s.GetName())
			}
		}
	}
	if !matched {
		return nil, fmt.Errorf("the signed statement is about another digest, not %s", digest)
	}
	return out, nil
}

// signedBy reports whether one of the envelope's signatures verifies with key.
func signedBy(env *protodsse.Envelope, key *PublicKey) bool {
	pae := preAuthEncoding(env.GetPayloadType(), env.GetPayload())
	for _, sig := range env.GetSignatures() {
		if key.verifier.VerifySignature(bytes.NewReader(sig.GetSig()), bytes.NewReader(pae)) == nil {
			return true
		}
	}
	return false
}

// isBundleV03 accepts the two spellings of the v0.3 bundle media type.
func isBundleV03(mediaType string) bool {
	return mediaType == BundleMediaType || mediaType == "application/vnd.dev.sigstore.bundle+json;version=0.3"
}

// bundleKeyHint is the hint of the key the bundle says signed it ("" when it names none).
func bundleKeyHint(b *protobundle.Bundle) string {
	if vm := b.GetVerificationMaterial(); vm != nil && vm.GetPublicKey() != nil {
		return vm.GetPublicKey().GetHint()
	}
	return ""
}
