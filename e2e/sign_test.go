package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const bundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// signingRegistry serves an in-process registry on 127.0.0.1. With referrersAPI it answers
// GET /v2/<name>/referrers/<digest> (go-containerregistry's registry, referrers on); without, that route is a 404,
// as on distribution's registry, so signatures go through the referrers tag schema (sha256-<hex>).
func signingRegistry(t *testing.T, referrersAPI bool) string {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(referrersAPI))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !referrersAPI && strings.Contains(r.URL.Path, "/referrers/") {
			http.Error(w, `{"errors":[{"code":"NOT_FOUND","message":"not found"}]}`, http.StatusNotFound)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// signatures lists, with go-containerregistry rather than lkpkg, the referrer manifests of ref's digest whose
// artifactType is a Sigstore bundle, and returns them with their bundles.
func signatures(t *testing.T, ref string) (digest v1.Hash, bundles map[v1.Hash][]byte) {
	t.Helper()
	r, desc := headOf(t, ref)
	idx, err := remote.Referrers(r.Context().Digest(desc.Digest.String()))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	bundles = map[v1.Hash][]byte{}
	for _, m := range im.Manifests {
		img, err := remote.Image(r.Context().Digest(m.Digest.String()))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := img.RawManifest()
		if err != nil {
			t.Fatal(err)
		}
		var man struct {
			ArtifactType string          `json:"artifactType"`
			Layers       []v1.Descriptor `json:"layers"`
		}
		if err := json.Unmarshal(raw, &man); err != nil {
			t.Fatal(err)
		}
		if man.ArtifactType != bundleMediaType {
			continue
		}
		layer, err := img.LayerByDigest(man.Layers[0].Digest)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := layer.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		bundles[m.Digest] = b
	}
	return desc.Digest, bundles
}

// attachBundle attaches bundle to ref's digest as cosign does, without lkpkg: an OCI referrer manifest.
func attachBundle(t *testing.T, ref string, bundle []byte) {
	t.Helper()
	r, desc := headOf(t, ref)
	repo := r.Context()
	for _, l := range []v1.Layer{static.NewLayer([]byte("{}"), "application/vnd.oci.empty.v1+json"), static.NewLayer(bundle, bundleMediaType)} {
		if err := remote.WriteLayer(repo, l); err != nil {
			t.Fatal(err)
		}
	}
	bundleDigest, _, _ := v1.SHA256(bytes.NewReader(bundle))
	emptyDigest, _, _ := v1.SHA256(strings.NewReader("{}"))
	man, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     types.OCIManifestSchema1,
		"artifactType":  bundleMediaType,
		"config":        v1.Descriptor{MediaType: "application/vnd.oci.empty.v1+json", Digest: emptyDigest, Size: 2},
		"layers":        []v1.Descriptor{{MediaType: bundleMediaType, Digest: bundleDigest, Size: int64(len(bundle))}},
		"subject":       v1.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size},
	})
	if err != nil {
		t.Fatal(err)
	}
	d, _, _ := v1.SHA256(bytes.NewReader(man))
	if err := remote.Put(repo.Digest(d.String()), rawTaggable{man}); err != nil {
		t.Fatal(err)
	}
}

type rawTaggable struct{ b []byte }

func (r rawTaggable) RawManifest() ([]byte, error) { return r.b, nil }
func (r rawTaggable) MediaType() (types.MediaType, error) {
	return types.OCIManifestSchema1, nil
}

// cosignVerify runs the stock cosign CLI (installed by .ci/deps) as a user verifying offline with a key would.
func cosignVerify(t *testing.T, pub, ref string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("cosign"); err != nil {
		t.Fatal("cosign is not installed; run .ci/deps")
	}
	cmd := exec.Command("cosign", "verify", "--key", pub, "--insecure-ignore-tlog=true", "--allow-http-registry", ref)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "DOCKER_CONFIG="+t.TempDir())
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestSignPushVerify(t *testing.T) {
	e := newBuildEnv(t)
	keys := t.TempDir()
	lkKey := filepath.Join(keys, "lk")
	env := append(noCredsEnv(t), "COSIGN_PASSWORD=lk-pw")

	// key generate: cosign's files and modes, never overwriting without --force.
	mustLkpkg(t, keys, env, "key", "generate", "--output-key-prefix", lkKey)
	if fi, err := os.Stat(lkKey + ".key"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key file: %v %v", fi.Mode(), err)
	}
	before, _ := os.ReadFile(lkKey + ".key")
	if r := lkpkg(t, keys, env, "key", "generate", "--output-key-prefix", lkKey); r.code == 0 || !strings.Contains(r.stderr, "--force") {
		t.Fatalf("overwrote a key without --force: exit %d %s", r.code, r.stderr)
	}
	if after, _ := os.ReadFile(lkKey + ".key"); !bytes.Equal(before, after) {
		t.Fatal("the key changed")
	}
	otherKey := filepath.Join(keys, "other")
	mustLkpkg(t, keys, append(noCredsEnv(t), "COSIGN_PASSWORD="), "key", "generate", "--output-key-prefix", otherKey)
	// A key pair made by cosign itself.
	cosignDir := t.TempDir()
	gen := exec.Command("cosign", "generate-key-pair")
	gen.Dir, gen.Env = cosignDir, append(os.Environ(), "COSIGN_PASSWORD=cosign-pw")
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
	}

	for _, api := range []bool{true, false} {
		t.Run(map[bool]string{true: "referrers API", false: "referrers tag schema"}[api], func(t *testing.T) {
			host := signingRegistry(t, api)
			dir := map[bool]string{true: "pkg/api", false: "pkg/tags"}[api]
			e.pkg(dir, "image: s\norg: "+host+"/lk\narches: [amd64, arm64]\n", pushDockerfile)
			tag := e.tag(dir)
			r := e.mustBuild(env, "--push", "--sign-key", lkKey+".key", dir)
			if n := strings.Count(r.stderr, "Signed "); n != 3 {
				t.Errorf("signed %d digests, want 3 (index, amd64, arm64):\n%s", n, tail(r.stderr, 20))
			}
			index, bundles := signatures(t, tag)
			if len(bundles) != 1 {
				t.Fatalf("%d signatures on the index, want 1", len(bundles))
			}
			for _, arch := range []string{"amd64", "arm64"} {
				if _, b := signatures(t, tag+"-"+arch); len(b) != 1 {
					t.Errorf("%s: %d signatures, want 1", arch, len(b))
				}
			}
			if !api {
				if _, err := remote.Head(mustParse(t, host+"/lk/s:sha256-"+index.Hex)); err != nil {
					t.Errorf("no referrers tag sha256-%s: %v", index.Hex, err)
				}
			}

			out := mustLkpkg(t, e.repo.Dir, env, "verify", "--key", lkKey+".pub", tag)
			if !strings.Contains(out, "Verified "+tag+" ("+index.String()+")") || !strings.Contains(out, "https://sigstore.dev/cosign/sign/v1") {
				t.Errorf("verify output:\n%s", out)
			}
			mustLkpkg(t, e.repo.Dir, env, "verify", "--key", lkKey+".pub", tag+"-arm64")
			if out, err := cosignVerify(t, lkKey+".pub", tag); err != nil {
				t.Fatalf("cosign verify: %v\n%s", err, out)
			}
			if out, err := cosignVerify(t, lkKey+".pub", tag+"-amd64"); err != nil {
				t.Fatalf("cosign verify of the amd64 image: %v\n%s", err, out)
			}

			// Re-push of the unchanged package adds no signature.
			r = e.mustBuild(env, "--push", "--sign-key", lkKey+".key", dir)
			if strings.Contains(r.stderr, "Signed ") || !strings.Contains(r.stderr, "already signed with this key") {
				t.Errorf("re-push:\n%s", tail(r.stderr, 10))
			}
			if _, b := signatures(t, tag); len(b) != 1 {
				t.Errorf("after re-push, %d signatures", len(b))
			}
			// A release names the same digests: it verifies, and nothing is signed twice.
			r = e.mustBuild(env, "--push", "--sign-key", lkKey+".key", "--release", "v1.0", dir)
			if strings.Contains(r.stderr, "Signed ") || strings.Contains(r.stderr, "not signing") {
				t.Errorf("release:\n%s", tail(r.stderr, 10))
			}
			mustLkpkg(t, e.repo.Dir, env, "verify", "--key", lkKey+".pub", host+"/lk/s:v1.0")

			// A key made by cosign, given in LKPKG_SIGN_KEY, adds its signature next to the first.
			mustLkpkg(t, e.repo.Dir, append(noCredsEnv(t), "COSIGN_PASSWORD=cosign-pw", "LKPKG_SIGN_KEY="+filepath.Join(cosignDir, "cosign.key")),
				"--cache", e.cache, "pkg", "push", "--nobuild", dir)
			if _, b := signatures(t, tag); len(b) != 2 {
				t.Errorf("after signing with the cosign key, %d signatures, want 2", len(b))
			}
			mustLkpkg(t, e.repo.Dir, env, "verify", "--key", filepath.Join(cosignDir, "cosign.pub"), tag)
			if out, err := cosignVerify(t, filepath.Join(cosignDir, "cosign.pub"), tag); err != nil {
				t.Fatalf("cosign verify with the cosign-made key: %v\n%s", err, out)
			}
			mustLkpkg(t, e.repo.Dir, env, "verify", "--key", lkKey+".pub", tag) // the first still verifies

			// Wrong key: lkpkg and cosign both refuse.
			r = lkpkg(t, e.repo.Dir, env, "verify", "--key", otherKey+".pub", tag)
			if r.code == 0 || !strings.Contains(r.stderr, "signed with another key") {
				t.Errorf("wrong key: exit %d\n%s", r.code, r.stderr)
			}
			if out, err := cosignVerify(t, otherKey+".pub", tag); err == nil {
				t.Errorf("cosign accepted the wrong key:\n%s", out)
			}
			// The other way round: cosign signs with a key lkpkg made (offline, new bundle format), lkpkg verifies.
			cs := exec.Command("cosign", "sign", "--key", otherKey+".key", "--use-signing-config=false", "--tlog-upload=false",
				"--allow-http-registry", "--yes", tag)
			cs.Env = append(os.Environ(), "COSIGN_PASSWORD=", "HOME="+t.TempDir(), "DOCKER_CONFIG="+t.TempDir())
			if out, err := cs.CombinedOutput(); err != nil {
				t.Fatalf("cosign sign with an lkpkg key: %v\n%s", err, out)
			}
			mustLkpkg(t, e.repo.Dir, env, "verify", "--key", otherKey+".pub", tag)

			// A wrong password is a clear error before anything is pushed.
			r = lkpkg(t, e.repo.Dir, append(noCredsEnv(t), "COSIGN_PASSWORD=nope"), "--cache", e.cache, "pkg", "push", "--nobuild",
				"--sign-key", lkKey+".key", dir)
			if r.code == 0 || !strings.Contains(r.stderr, "COSIGN_PASSWORD") {
				t.Errorf("wrong password: exit %d\n%s", r.code, r.stderr)
			}

			// disable-content-trust: pushed, not signed.
			plain := dir + "-plain"
			e.pkg(plain, "image: plain\norg: "+host+"/lk\narches: [amd64, arm64]\ndisable-content-trust: true\n", pushDockerfile)
			plainTag := e.tag(plain)
			r = e.mustBuild(env, "--push", "--sign-key", lkKey+".key", plain)
			if !strings.Contains(r.stderr, "content trust disabled, not signing") || strings.Contains(r.stderr, "Signed ") {
				t.Errorf("disable-content-trust:\n%s", tail(r.stderr, 10))
			}
			if _, b := signatures(t, plainTag); len(b) != 0 {
				t.Errorf("disable-content-trust package has %d signatures", len(b))
			}
			r = lkpkg(t, e.repo.Dir, env, "verify", "--key", lkKey+".pub", plainTag)
			if r.code == 0 || !strings.Contains(r.stderr, "no signature") {
				t.Errorf("unsigned: exit %d\n%s", r.code, r.stderr)
			}

			// --disable-content-trust does the same for every package of the run.
			flagged := dir + "-flag"
			e.pkg(flagged, "image: flagged\norg: "+host+"/lk\narches: [amd64, arm64]\n", pushDockerfile)
			r = e.mustBuild(env, "--push", "--sign-key", lkKey+".key", "--disable-content-trust", flagged)
			if !strings.Contains(r.stderr, "content trust disabled, not signing") || strings.Contains(r.stderr, "Signed ") {
				t.Errorf("--disable-content-trust:\n%s", tail(r.stderr, 10))
			}
			if _, b := signatures(t, e.tag(flagged)); len(b) != 0 {
				t.Errorf("--disable-content-trust package has %d signatures", len(b))
			}

			// Tampered signatures on the unsigned package: the signed package's bundle copied over (its statement
			// names the other digest), and that bundle with its statement edited to name this digest.
			plainDigest, _ := signatures(t, plainTag)
			var stolen []byte
			for _, b := range bundles {
				stolen = b
			}
			attachBundle(t, plainTag, stolen)
			attachBundle(t, plainTag, retarget(t, stolen, index.Hex, plainDigest.Hex))
			r = lkpkg(t, e.repo.Dir, env, "verify", "--key", lkKey+".pub", plainTag)
			if r.code == 0 || !strings.Contains(r.stderr, "another digest") || !strings.Contains(r.stderr, "altered") {
				t.Errorf("tampered: exit %d\n%s", r.code, r.stderr)
			}
			if out, err := cosignVerify(t, lkKey+".pub", plainTag); err == nil {
				t.Errorf("cosign accepted a tampered signature:\n%s", out)
			}
		})
	}
}

// retarget rewrites the digest inside a bundle's signed statement, keeping the signature: what an attacker who
// copies a signature to another image would try.
func retarget(t *testing.T, bundle []byte, from, to string) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(bundle, &doc); err != nil {
		t.Fatal(err)
	}
	env := doc["dsseEnvelope"].(map[string]any)
	payload, err := base64.StdEncoding.DecodeString(env["payload"].(string))
	if err != nil {
		t.Fatal(err)
	}
	env["payload"] = base64.StdEncoding.EncodeToString([]byte(strings.ReplaceAll(string(payload), from, to)))
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// headOf is ref parsed and its descriptor in the registry.
func headOf(t *testing.T, ref string) (name.Reference, *v1.Descriptor) {
	t.Helper()
	r := mustParse(t, ref)
	desc, err := remote.Head(r)
	if err != nil {
		t.Fatal(err)
	}
	return r, desc
}

func mustParse(t *testing.T, ref string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Signing against the distribution registry (basic auth, a self-signed certificate, no referrers API): the
// signatures go under the sha256-<hex> tag, and lkpkg and the stock cosign both verify them with the registry's
// CA and credentials; the wrong key fails for both.
func TestDistributionSignVerify(t *testing.T) {
	d := newDistRegistry(t, distOptions{})
	e := newBuildEnv(t)
	keys := t.TempDir()
	key, other := filepath.Join(keys, "lk"), filepath.Join(keys, "other")
	env := append(noCredsEnv(t), "COSIGN_PASSWORD=lk-pw")
	mustLkpkg(t, keys, env, "key", "generate", "--output-key-prefix", key)
	mustLkpkg(t, keys, env, "key", "generate", "--output-key-prefix", other)
	e.pkg("pkg/s", "image: s\norg: "+d.host+"/lk\narches: [amd64, arm64]\n", pushDockerfile)
	tag := e.tag("pkg/s")
	root := []string{"--cert-file", d.caFile}
	r := distBuild(e, env, root, "--push", "--sign-key", key+".key", "--registry-creds", d.creds(), "pkg/s")
	if r.code != 0 {
		t.Fatalf("build --push --sign-key: exit %d\n%s", r.code, tail(r.stderr, 30))
	}
	if n := strings.Count(r.stderr, "Signed "); n != 3 {
		t.Errorf("signed %d digests, want 3 (index, amd64, arm64):\n%s", n, tail(r.stderr, 20))
	}
	index := d.digest(t, tag)
	referrersTag := d.host + "/lk/s:sha256-" + strings.TrimPrefix(index, "sha256:")
	if d.digest(t, referrersTag) == "" {
		t.Fatalf("no referrers tag for %s in a registry without the referrers API", index)
	}
	// What lkpkg wrote for the signatures is OCI too: the referrers index and each referrer manifest.
	rawIndex := d.raw(t, referrersTag)
	checkOCIDocument(t, referrersTag, ocispec.MediaTypeImageIndex, rawIndex)
	var referrers ocispec.Index
	if err := json.Unmarshal(rawIndex, &referrers); err != nil || len(referrers.Manifests) != 1 {
		t.Fatalf("referrers index: %v, %d entries, want 1\n%s", err, len(referrers.Manifests), rawIndex)
	}
	for _, m := range referrers.Manifests {
		checkOCIDocument(t, "referrer "+m.Digest.String(), m.MediaType, d.raw(t, d.host+"/lk/s@"+m.Digest.String()))
	}

	verify := func(pub, ref string) result {
		return lkpkg(t, e.repo.Dir, env, "--cert-file", d.caFile, "verify", "--key", pub, "--registry-creds", d.creds(), ref)
	}
	for _, ref := range []string{tag, tag + "-amd64", tag + "-arm64"} {
		if r := verify(key+".pub", ref); r.code != 0 || !strings.Contains(r.stdout, "Verified "+ref) {
			t.Errorf("lkpkg verify %s: exit %d\n%s%s", ref, r.code, r.stdout, r.stderr)
		}
	}
	if r := verify(other+".pub", tag); r.code == 0 || !strings.Contains(r.stderr, "signed with another key") {
		t.Errorf("lkpkg verify with the wrong key: exit %d\n%s", r.code, r.stderr)
	}

	// cosign reads the CA from SSL_CERT_FILE and the login from a docker config.
	docker := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(d.user + ":" + d.pass))
	writeFile(t, filepath.Join(docker, "config.json"), `{"auths":{"`+d.host+`":{"auth":"`+auth+`"}}}`)
	cosign := func(pub string) (string, error) {
		cmd := exec.Command("cosign", "verify", "--key", pub, "--insecure-ignore-tlog=true", tag)
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "DOCKER_CONFIG="+docker, "SSL_CERT_FILE="+d.caFile)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := cosign(key + ".pub"); err != nil {
		t.Errorf("cosign verify: %v\n%s", err, out)
	}
	if out, err := cosign(other + ".pub"); err == nil {
		t.Errorf("cosign accepted the wrong key:\n%s", out)
	}
}
