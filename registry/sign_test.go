package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/lkpkg/lkpkg/registry/sign"
)

// signRegistry is an in-process registry on 127.0.0.1 with or without the referrers API, counting the referrers
// API requests it answers.
type signRegistry struct {
	host           string
	referrersCalls atomic.Int64
}

func newSignRegistry(t *testing.T, referrersAPI bool) *signRegistry {
	t.Helper()
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)), ggcrregistry.WithReferrersSupport(referrersAPI))
	sr := &signRegistry{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/referrers/") {
			sr.referrersCalls.Add(1)
			if !referrersAPI { // as distribution's registry: no such route
				http.Error(w, `{"errors":[{"code":"NOT_FOUND"}]}`, http.StatusNotFound)
				return
			}
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	sr.host = strings.TrimPrefix(srv.URL, "http://")
	return sr
}

// pushTestIndex pushes a two-platform index (plus an attestation manifest) as ref and returns its digest and the
// digests of the amd64 and arm64 images.
func pushTestIndex(t *testing.T, ref string) (index v1.Hash, children []v1.Hash) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	adds := []mutate.IndexAddendum{}
	for _, arch := range []string{"amd64", "arm64", "unknown"} {
		img, err := mutate.AppendLayers(empty.Image, static.NewLayer([]byte(arch), types.OCILayer))
		if err != nil {
			t.Fatal(err)
		}
		img = mutate.MediaType(mutate.ConfigMediaType(img, types.OCIConfigJSON), types.OCIManifestSchema1)
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		if arch != "unknown" {
			children = append(children, d)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: map[bool]string{true: "unknown", false: "linux"}[arch == "unknown"], Architecture: arch}}})
	}
	idx := mutate.IndexMediaType(mutate.AppendManifests(empty.Index, adds...), types.OCIImageIndex)
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	index, err = idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return index, children
}

func testKeys(t *testing.T) (*sign.PrivateKey, *sign.PublicKey) {
	t.Helper()
	privPEM, pubPEM, err := sign.GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := sign.ParsePrivateKey(privPEM, nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sign.ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

// bundleReferrers lists, independently of lkpkg's code, the referrer manifests with the bundle artifactType of d
// (API or tag schema, whichever the registry has) and checks each one's shape against what cosign v3 writes.
// The artifactType is read from each manifest: go-containerregistry's registry lists the config media type.
func bundleReferrers(t *testing.T, repo string, d v1.Hash) []v1.Descriptor {
	t.Helper()
	r, err := name.NewRepository(repo)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Referrers(r.Digest(d.String()))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var out []v1.Descriptor
	for _, m := range im.Manifests {
		raw, err := remote.Get(r.Digest(m.Digest.String()))
		if err != nil {
			t.Fatal(err)
		}
		var man struct {
			MediaType    string            `json:"mediaType"`
			ArtifactType string            `json:"artifactType"`
			Config       v1.Descriptor     `json:"config"`
			Layers       []v1.Descriptor   `json:"layers"`
			Subject      *v1.Descriptor    `json:"subject"`
			Annotations  map[string]string `json:"annotations"`
		}
		if err := json.Unmarshal(raw.Manifest, &man); err != nil {
			t.Fatal(err)
		}
		if man.ArtifactType != sign.BundleMediaType {
			continue
		}
		out = append(out, m)
		if man.MediaType != string(types.OCIManifestSchema1) || man.Config.MediaType != "application/vnd.oci.empty.v1+json" ||
			man.Config.Size != 2 || len(man.Layers) != 1 || man.Layers[0].MediaType != sign.BundleMediaType ||
			man.Subject == nil || man.Subject.Digest != d ||
			man.Annotations["dev.sigstore.bundle.content"] != "dsse-envelope" ||
			man.Annotations["dev.sigstore.bundle.predicateType"] != sign.PredicateType ||
			man.Annotations["org.opencontainers.image.created"] == "" {
			t.Errorf("referrer manifest not shaped as cosign's: %s", raw.Manifest)
		}
	}
	return out
}

func TestSignAndVerify(t *testing.T) {
	ctx := context.Background()
	priv, pub := testKeys(t)
	_, otherPub := testKeys(t)
	for _, api := range []bool{true, false} {
		t.Run(map[bool]string{true: "referrers API", false: "tag schema"}[api], func(t *testing.T) {
			reg := newSignRegistry(t, api)
			repo := reg.host + "/org/pkg"
			ref := repo + ":v1"
			index, children := pushTestIndex(t, ref)
			var log bytes.Buffer
			signer := NewSigner(NewRemote(nil, nil), priv, &log)
			if _, err := signer.Sign(ctx, ref); err != nil {
				t.Fatal(err)
			}
			if reg.referrersCalls.Load() == 0 {
				t.Error("the referrers API was never asked")
			}
			for _, d := range append([]v1.Hash{index}, children...) {
				if n := len(bundleReferrers(t, repo, d)); n != 1 {
					t.Errorf("%s has %d signatures, want 1", d, n)
				}
			}
			if strings.Count(log.String(), "Signed ") != 3 {
				t.Errorf("log:\n%s", log.String())
			}
			if !api { // the tag schema index exists and is an OCI index
				if _, err := remote.Head(mustTag(t, repo+":sha256-"+index.Hex)); err != nil {
					t.Errorf("no referrers tag: %v", err)
				}
			}

			// Verify: by tag, by digest, and each platform.
			remoteR := NewRemote(nil, nil)
			for _, r := range []string{ref, repo + "@" + index.String(), repo + "@" + children[1].String()} {
				v, err := remoteR.Verify(ctx, r, pub)
				if err != nil {
					t.Fatalf("verify %s: %v", r, err)
				}
				if len(v.Signatures) != 1 || v.Signatures[0].Names[0] != repo {
					t.Errorf("verified %+v", v)
				}
			}
			if _, err := remoteR.Verify(ctx, ref, otherPub); err == nil || !errors.Is(err, sign.ErrWrongKey) {
				t.Errorf("wrong key: %v", err)
			}

			// Re-signing the same digests adds nothing.
			log.Reset()
			if _, err := signer.Sign(ctx, ref); err != nil {
				t.Fatal(err)
			}
			if strings.Count(log.String(), "already signed with this key") != 3 || strings.Contains(log.String(), "Signed ") {
				t.Errorf("re-sign log:\n%s", log.String())
			}
			if n := len(bundleReferrers(t, repo, index)); n != 1 {
				t.Errorf("after re-signing, %d signatures", n)
			}

			// A second key adds its signature next to the first (the tag schema index is merged, not replaced);
			// both keys verify.
			priv2, _ := testKeys(t)
			if _, err := NewSigner(NewRemote(nil, nil), priv2, nil).Sign(ctx, ref); err != nil {
				t.Fatal(err)
			}
			if n := len(bundleReferrers(t, repo, index)); n != 2 {
				t.Errorf("after a second key, %d signatures, want 2", n)
			}
			if v, err := remoteR.Verify(ctx, ref, priv2.Public()); err != nil || len(v.Signatures) != 1 {
				t.Errorf("second key: %v %+v", err, v)
			}
			if _, err := remoteR.Verify(ctx, ref, pub); err != nil {
				t.Errorf("first key after the second signed: %v", err)
			}
		})
	}
}

func mustTag(t *testing.T, s string) name.Tag {
	t.Helper()
	tag, err := name.NewTag(s)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

func TestVerifyUnsignedAndTampered(t *testing.T) {
	ctx := context.Background()
	priv, pub := testKeys(t)
	reg := newSignRegistry(t, false)
	repo := reg.host + "/org/pkg"
	index, _ := pushTestIndex(t, repo+":v1")
	r := NewRemote(nil, nil)

	_, err := r.Verify(ctx, repo+":v1", pub)
	if !errors.Is(err, ErrNoSignature) || !strings.Contains(err.Error(), "sha256-"+index.Hex) {
		t.Fatalf("unsigned: %v", err)
	}
	if _, err := r.Verify(ctx, repo+":nope", pub); err == nil || !errors.Is(err, ErrNotInRegistry) {
		t.Errorf("missing tag: %v", err)
	}

	// A bundle whose payload was altered, attached as cosign would attach it.
	subject := mustRepo(t, repo).Digest(index.String())
	desc, err := remote.Head(subject)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := sign.Sign(ctx, priv, sign.Subject{Digest: index.String()})
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Replace(bundle, []byte(`"payload":"`), []byte(`"payload":"AAAA`), 1)
	if _, err := r.attach(ctx, subject, *desc, sign.BundleMediaType, tampered, nil); err != nil {
		t.Fatal(err)
	}
	_, err = r.Verify(ctx, repo+":v1", pub)
	if err == nil || !strings.Contains(err.Error(), "none of its 1 signature(s) verifies") {
		t.Fatalf("tampered: %v", err)
	}
	// Signing now adds a good signature beside the bad one, and verification passes.
	if _, err := NewSigner(r, priv, nil).Sign(ctx, repo+":v1"); err != nil {
		t.Fatal(err)
	}
	if v, err := r.Verify(ctx, repo+":v1", pub); err != nil || len(v.Signatures) != 1 {
		t.Fatalf("after signing: %v %+v", err, v)
	}
}

func mustRepo(t *testing.T, s string) name.Repository {
	t.Helper()
	r, err := name.NewRepository(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSignIfDigestLeavesOthersAlone(t *testing.T) {
	ctx := context.Background()
	priv, pub := testKeys(t)
	reg := newSignRegistry(t, true)
	repo := reg.host + "/org/pkg"
	index, _ := pushTestIndex(t, repo+":v1")
	var log bytes.Buffer
	s := NewSigner(NewRemote(nil, nil), priv, &log)
	r := NewRemote(nil, nil)
	if err := s.SignIfDigest(ctx, repo+":v1", "sha256:"+strings.Repeat("0", 64)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "did not write; not signing it") {
		t.Errorf("log:\n%s", log.String())
	}
	if _, err := r.Verify(ctx, repo+":v1", pub); !errors.Is(err, ErrNoSignature) {
		t.Errorf("signed a digest it was told not to: %v", err)
	}
	if err := s.SignIfDigest(ctx, repo+":v1", index.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Verify(ctx, repo+":v1", pub); err != nil {
		t.Error(err)
	}
}
