package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/schema"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The OCI image-spec's own JSON schemas (its schema package, at the image-spec version in go.mod) check every
// manifest, index and config lkpkg writes to the linuxkit cache or pushes: tests call checkOCILayout on a cache,
// and on what skopeo copied back from a registry with --preserve-digests (the registry's exact bytes).

// ociValidators maps the media types lkpkg writes to the image-spec schema that governs them.
var ociValidators = map[string]schema.Validator{
	ocispec.MediaTypeImageIndex:    schema.ValidatorMediaTypeImageIndex,
	ocispec.MediaTypeImageManifest: schema.ValidatorMediaTypeManifest,
	ocispec.MediaTypeImageConfig:   schema.ValidatorMediaTypeImageConfig,
}

// checkOCIDocument validates raw as mediaType against the image-spec schema; where names it in the error.
func checkOCIDocument(t testing.TB, where, mediaType string, raw []byte) {
	t.Helper()
	v, ok := ociValidators[mediaType]
	if !ok {
		t.Errorf("%s: media type %q is not an OCI manifest, index or config; lkpkg writes OCI", where, mediaType)
		return
	}
	if err := v.Validate(bytes.NewReader(raw)); err != nil {
		t.Errorf("%s (%s) fails the OCI image-spec schema: %v\n%s", where, mediaType, err, raw)
	}
}

// checkOCILayout validates a whole OCI layout (a linuxkit cache, a skopeo copy): oci-layout, index.json, and every
// index, image manifest and image config reachable from it, each blob also matching its descriptor's digest and
// size. It returns how many documents it checked, so callers can tell a walk that found nothing.
func checkOCILayout(t testing.TB, dir string) int {
	t.Helper()
	layout, err := os.ReadFile(filepath.Join(dir, ocispec.ImageLayoutFile))
	if err != nil {
		t.Fatalf("OCI layout %s: %v", dir, err)
	}
	if err := schema.ValidatorMediaTypeLayoutHeader.Validate(bytes.NewReader(layout)); err != nil {
		t.Errorf("%s/oci-layout fails the OCI image-spec schema: %v", dir, err)
	}
	top, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatalf("OCI layout %s: %v", dir, err)
	}
	w := layoutWalk{t: t, dir: dir, seen: map[digest.Digest]bool{}}
	checkOCIDocument(t, dir+"/index.json", ocispec.MediaTypeImageIndex, top)
	w.children(dir+"/index.json", ocispec.MediaTypeImageIndex, top)
	return w.checked + 1
}

type layoutWalk struct {
	t       testing.TB
	dir     string
	seen    map[digest.Digest]bool
	checked int
}

// descriptor validates the blob d names (reached through path) and walks what it references.
func (w *layoutWalk) descriptor(path string, d ocispec.Descriptor) {
	w.t.Helper()
	if w.seen[d.Digest] {
		return
	}
	w.seen[d.Digest] = true
	where := path + " → " + d.Digest.String()
	raw, err := os.ReadFile(filepath.Join(w.dir, "blobs", d.Digest.Algorithm().String(), d.Digest.Encoded()))
	if err != nil {
		w.t.Errorf("%s: blob missing from %s: %v", where, w.dir, err)
		return
	}
	if got := digest.FromBytes(raw); got != d.Digest || int64(len(raw)) != d.Size {
		w.t.Errorf("%s: blob is %s, %d bytes; the descriptor says %s, %d bytes", where, got, len(raw), d.Digest, d.Size)
	}
	w.checked++
	checkOCIDocument(w.t, where, d.MediaType, raw)
	w.children(where, d.MediaType, raw)
}

// children walks the manifests of an index, and the config of an image manifest (layers are content, not JSON).
func (w *layoutWalk) children(where, mediaType string, raw []byte) {
	w.t.Helper()
	switch mediaType {
	case ocispec.MediaTypeImageIndex:
		var idx ocispec.Index
		if err := json.Unmarshal(raw, &idx); err != nil {
			w.t.Errorf("%s: %v", where, err)
			return
		}
		for _, m := range idx.Manifests {
			w.descriptor(where, m)
		}
	case ocispec.MediaTypeImageManifest:
		var m ocispec.Manifest
		if err := json.Unmarshal(raw, &m); err != nil {
			w.t.Errorf("%s: %v", where, err)
			return
		}
		if m.Config.MediaType == ocispec.MediaTypeImageConfig {
			w.descriptor(where, m.Config)
		}
		for _, l := range m.Layers {
			if _, err := os.Stat(filepath.Join(w.dir, "blobs", l.Digest.Algorithm().String(), l.Digest.Encoded())); err != nil {
				w.t.Errorf("%s: layer %s missing: %v", where, l.Digest, err)
			}
		}
	}
}

// checkRegistryOCI copies ref from a registry, every platform with the registry's exact bytes (skopeo copy --all
// --preserve-digests), and validates the copy. srcArgs are skopeo's --src-* options (TLS, credentials).
func checkRegistryOCI(t testing.TB, ref string, srcArgs ...string) {
	t.Helper()
	dir := t.TempDir()
	args := append(append([]string{"copy", "--all", "--preserve-digests", "-q"}, srcArgs...), "docker://"+ref, "oci:"+dir+":copy")
	if out, err := exec.Command("skopeo", args...).CombinedOutput(); err != nil {
		t.Fatalf("skopeo %v: %v\n%s", args, err, out)
	}
	if n := checkOCILayout(t, dir); n < 3 {
		t.Errorf("%s: only %d documents to validate", ref, n)
	}
}

// TestOCISchemaCatchesInvalidDocuments shows the validator is not vacuous: documents that break the spec fail.
func TestOCISchemaCatchesInvalidDocuments(t *testing.T) {
	for _, tc := range []struct {
		name, mediaType, doc string
	}{
		{"index without schemaVersion", ocispec.MediaTypeImageIndex, `{"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`},
		{"manifest with a bad digest", ocispec.MediaTypeImageManifest, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
			`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:nothex","size":2},"layers":[]}`},
		{"config without rootfs", ocispec.MediaTypeImageConfig, `{"architecture":"amd64","os":"linux"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := ociValidators[tc.mediaType]
			if err := v.Validate(bytes.NewReader([]byte(tc.doc))); err == nil {
				t.Errorf("%s passed the schema", tc.doc)
			}
		})
	}
}

// recordingTB collects Errorf calls, so a test can check what the layout walk reports.
type recordingTB struct {
	testing.TB
	errs []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestOCILayoutWalkFindsBadDocuments: the walk reaches configs through index.json and reports, naming the path,
// a config that breaks the schema and a blob whose size differs from its descriptor.
func TestOCILayoutWalkFindsBadDocuments(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, ocispec.ImageLayoutFile), `{"imageLayoutVersion":"1.0.0"}`)
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		t.Fatal(err)
	}
	blob := func(mediaType, content string, size int64) ocispec.Descriptor {
		d := digest.FromString(content)
		writeFile(t, filepath.Join(dir, "blobs", "sha256", d.Encoded()), content)
		return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: size}
	}
	config := `{"architecture":"amd64","os":"linux"}` // no rootfs
	cfg := blob(ocispec.MediaTypeImageConfig, config, int64(len(config)))
	m, _ := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		Config: cfg, Layers: []ocispec.Descriptor{}})
	man := blob(ocispec.MediaTypeImageManifest, string(m), int64(len(m))+1) // wrong size
	top, _ := json.Marshal(ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{man}})
	writeFile(t, filepath.Join(dir, "index.json"), string(top))

	rec := &recordingTB{TB: t}
	if n := checkOCILayout(rec, dir); n != 3 {
		t.Errorf("checked %d documents, want 3 (index.json, manifest, config)", n)
	}
	all := strings.Join(rec.errs, "\n")
	for _, want := range []string{"the descriptor says " + man.Digest.String() + ", " + fmt.Sprint(man.Size) + " bytes",
		"index.json → " + man.Digest.String() + " → " + cfg.Digest.String() + " (" + ocispec.MediaTypeImageConfig + ") fails the OCI image-spec schema"} {
		if !strings.Contains(all, want) {
			t.Errorf("the walk did not report %q; it reported:\n%s", want, all)
		}
	}
}
