package sign

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	digestA = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	digestB = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
)

func newKey(t *testing.T, password string) (*PrivateKey, *PublicKey) {
	t.Helper()
	privPEM, pubPEM, err := GenerateKeyPair([]byte(password))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ParsePrivateKey(privPEM, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

func TestSignVerifyRoundTrip(t *testing.T) {
	priv, pub := newKey(t, "")
	b, err := Sign(context.Background(), priv, Subject{Name: "registry.example/org/img", Digest: digestA})
	if err != nil {
		t.Fatal(err)
	}
	v, err := Verify(b, pub, digestA)
	if err != nil {
		t.Fatal(err)
	}
	if v.PredicateType != PredicateType || len(v.Names) != 1 || v.Names[0] != "registry.example/org/img" || v.KeyHint != pub.Hint() {
		t.Errorf("verified %+v", v)
	}
	// The bundle is what cosign v3 writes for `cosign sign --key`: v0.3, a DSSE in-toto envelope, a public key hint,
	// no certificate, no transparency log entries.
	var doc struct {
		MediaType            string `json:"mediaType"`
		VerificationMaterial struct {
			PublicKey struct {
				Hint string `json:"hint"`
			} `json:"publicKey"`
			TlogEntries []any `json:"tlogEntries"`
			Certificate any   `json:"certificate"`
		} `json:"verificationMaterial"`
		DsseEnvelope struct {
			Payload     string `json:"payload"`
			PayloadType string `json:"payloadType"`
			Signatures  []struct {
				Sig string `json:"sig"`
			} `json:"signatures"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	vm := doc.VerificationMaterial
	if doc.MediaType != BundleMediaType || vm.PublicKey.Hint != pub.Hint() || vm.TlogEntries != nil || vm.Certificate != nil {
		t.Errorf("bundle header %+v", doc)
	}
	if doc.DsseEnvelope.PayloadType != "application/vnd.in-toto+json" || len(doc.DsseEnvelope.Signatures) != 1 {
		t.Errorf("envelope %+v", doc.DsseEnvelope)
	}
	payload, _ := base64.StdEncoding.DecodeString(doc.DsseEnvelope.Payload)
	var st struct {
		Type          string `json:"_type"`
		PredicateType string `json:"predicateType"`
		Subject       []struct {
			Name   string            `json:"name"`
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
		Predicate map[string]any `json:"predicate"`
	}
	if err := json.Unmarshal(payload, &st); err != nil {
		t.Fatal(err)
	}
	if st.Type != "https://in-toto.io/Statement/v1" || st.PredicateType != PredicateType || len(st.Subject) != 1 ||
		st.Subject[0].Digest["sha256"] != strings.TrimPrefix(digestA, "sha256:") || st.Predicate == nil {
		t.Errorf("statement %s", payload)
	}
}

func TestVerifyFailures(t *testing.T) {
	ctx := context.Background()
	priv, pub := newKey(t, "pw")
	_, otherPub := newKey(t, "")
	good, err := Sign(ctx, priv, Subject{Digest: digestA})
	if err != nil {
		t.Fatal(err)
	}
	otherSubject, err := Sign(ctx, priv, Subject{Digest: digestB})
	if err != nil {
		t.Fatal(err)
	}
	tamperedPayload := editEnvelope(t, good, func(env map[string]any) {
		p, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
		p = []byte(strings.Replace(string(p), strings.TrimPrefix(digestA, "sha256:"), strings.TrimPrefix(digestB, "sha256:"), 1))
		env["payload"] = base64.StdEncoding.EncodeToString(p)
	})
	tamperedSig := editEnvelope(t, good, func(env map[string]any) {
		sig := env["signatures"].([]any)[0].(map[string]any)
		raw, _ := base64.StdEncoding.DecodeString(sig["sig"].(string))
		raw[len(raw)-1] ^= 1
		sig["sig"] = base64.StdEncoding.EncodeToString(raw)
	})
	for _, tc := range []struct {
		name, digest string
		bundle       []byte
		key          *PublicKey
		want         error
		wantText     string
	}{
		{"wrong key", digestA, good, otherPub, ErrWrongKey, "names key"},
		{"subject is another digest", digestA, otherSubject, pub, nil, "another digest"},
		{"payload altered to name another digest", digestB, tamperedPayload, pub, ErrBadSignature, "altered"},
		{"signature altered", digestA, tamperedSig, pub, ErrBadSignature, "altered"},
		{"not a bundle", digestA, []byte(`{"mediaType":"text/plain"}`), pub, nil, "not a valid Sigstore bundle"},
		{"not a digest", "latest", good, pub, nil, "not a sha256 digest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(tc.bundle, tc.key, tc.digest)
			if err == nil {
				t.Fatal("verified")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not say %q", err, tc.wantText)
			}
		})
	}
}

// editEnvelope changes a bundle's DSSE envelope, keeping the rest.
func editEnvelope(t *testing.T, bundle []byte, edit func(env map[string]any)) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(bundle, &doc); err != nil {
		t.Fatal(err)
	}
	edit(doc["dsseEnvelope"].(map[string]any))
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPrivateKeyPassword(t *testing.T) {
	privPEM, _, err := GenerateKeyPair([]byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(privPEM), "ENCRYPTED SIGSTORE PRIVATE KEY") {
		t.Errorf("PEM type: %s", privPEM)
	}
	if _, err := ParsePrivateKey(privPEM, []byte("correct horse")); err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"", "wrong"} {
		if _, err := ParsePrivateKey(privPEM, []byte(pw)); !errors.Is(err, ErrWrongPassword) {
			t.Errorf("password %q: %v, want ErrWrongPassword", pw, err)
		}
	}
}

func TestKeyFileErrors(t *testing.T) {
	privPEM, pubPEM, err := GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, input string
		private     bool
		want        string
	}{
		{"garbage as private key", "hello", true, "not a PEM file"},
		{"public key as private key", string(pubPEM), true, "is not a cosign private key"},
		{"garbage as public key", "hello", false, "not a PEM file"},
		{"private key as public key", string(privPEM), false, "not the private key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.private {
				_, err = ParsePrivateKey([]byte(tc.input), nil)
			} else {
				_, err = ParsePublicKey([]byte(tc.input))
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := LoadPrivateKey(filepath.Join(t.TempDir(), "missing.key"), nil); err == nil || !strings.Contains(err.Error(), "missing.key") {
		t.Errorf("missing file: %v", err)
	}
}

// testdata/cosign.key and cosign.pub were written by `cosign generate-key-pair` (cosign v3.1.3) with
// COSIGN_PASSWORD=lkpkg-test.
func TestReadsCosignGeneratedKey(t *testing.T) {
	priv, err := LoadPrivateKey("testdata/cosign.key", []byte("lkpkg-test"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := LoadPublicKey("testdata/cosign.pub")
	if err != nil {
		t.Fatal(err)
	}
	if priv.Public().Hint() != pub.Hint() {
		t.Fatalf("private key's public half %s, cosign.pub %s", priv.Public().Hint(), pub.Hint())
	}
	b, err := Sign(context.Background(), priv, Subject{Digest: digestA})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(b, pub, digestA); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("testdata/cosign.key"); err != nil {
		t.Fatal(err)
	}
}
