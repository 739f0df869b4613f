package snapshot

import (
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestIndexWriteMerge(t *testing.T) {
	c := newCache(t)
	amd1 := mustImage(t, c, "amd64", "amd1")
	amd2 := mustImage(t, c, "amd64", "amd2")
	arm1 := mustImage(t, c, "arm64", "arm1")
	armv7 := mustImage(t, c, "arm", "armv7")
	armv7.Platform.Variant = "v7"
	armv6 := mustImage(t, c, "arm", "armv6")
	armv6.Platform.Variant = "v6"
	att := func(d ocispec.Descriptor) ocispec.Descriptor { return attestationFor(c, d) }
	noPlatform := mustImage(t, c, "amd64", "noplat")
	noPlatform.Platform = nil

	tests := []struct {
		name   string
		first  []ocispec.Descriptor // IndexWriteNamed before (empty: no existing entry)
		second []ocispec.Descriptor
		want   []ocispec.Descriptor
	}{
		{"new index", nil, []ocispec.Descriptor{amd1, att(amd1)}, []ocispec.Descriptor{amd1, att(amd1)}},
		{"new arch added", []ocispec.Descriptor{amd1, att(amd1)}, []ocispec.Descriptor{arm1, att(arm1)},
			[]ocispec.Descriptor{amd1, att(amd1), arm1, att(arm1)}},
		{"arch replaced, stale attestation dropped", []ocispec.Descriptor{amd1, att(amd1), arm1, att(arm1)},
			[]ocispec.Descriptor{amd2, att(amd2)},
			[]ocispec.Descriptor{amd2, att(amd2), arm1, att(arm1)}},
		{"variant ignored when replacing", []ocispec.Descriptor{armv6}, []ocispec.Descriptor{armv7},
			[]ocispec.Descriptor{armv7}},
		{"dedupe by digest", []ocispec.Descriptor{amd1, att(amd1)}, []ocispec.Descriptor{amd1, att(amd1)},
			[]ocispec.Descriptor{amd1, att(amd1)}},
		{"no-platform children are appended", []ocispec.Descriptor{amd1}, []ocispec.Descriptor{noPlatform},
			[]ocispec.Descriptor{amd1, noPlatform}},
		{"same arch twice in input: last wins", []ocispec.Descriptor{arm1}, []ocispec.Descriptor{amd1, amd2},
			[]ocispec.Descriptor{amd2, arm1}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := "docker.io/test/merge:" + string(rune('a'+i))
			if tc.first != nil {
				if _, err := c.IndexWriteNamed(name, tc.first, nil); err != nil {
					t.Fatal(err)
				}
			}
			root, err := c.IndexWriteNamed(name, tc.second, nil)
			if err != nil {
				t.Fatal(err)
			}
			if root.MediaType != ocispec.MediaTypeImageIndex || root.Annotations[AnnotationRefName] != name {
				t.Fatalf("root %+v", root)
			}
			var idx ocispec.Index
			if err := c.readJSONBlob(root.Digest, &idx); err != nil {
				t.Fatal(err)
			}
			if idx.SchemaVersion != 2 || idx.MediaType != ocispec.MediaTypeImageIndex {
				t.Errorf("index header %+v", idx.Versioned)
			}
			if got, want := digests(idx.Manifests), digests(tc.want); got != want {
				t.Fatalf("children\n got %s\nwant %s", got, want)
			}
		})
	}
	checkLayout(t, c.Dir())
}

func digests(ds []ocispec.Descriptor) string {
	var s []string
	for _, d := range ds {
		s = append(s, d.Digest.Encoded()[:8])
	}
	return strings.Join(s, " ")
}

func TestIndexWriteErrors(t *testing.T) {
	c := newCache(t)
	img := mustImage(t, c, "amd64", "img")
	if err := c.DescriptorWrite("docker.io/test/img:1", img); err != nil {
		t.Fatal(err)
	}
	_, err := c.IndexWriteNamed("docker.io/test/img:1", []ocispec.Descriptor{mustImage(t, c, "arm64", "x")}, nil)
	if err == nil || !strings.Contains(err.Error(), "image named docker.io/test/img:1 already exists in cache and is not an index") {
		t.Fatalf("image vs index: %v", err)
	}
	if _, err := c.IndexWriteNamed("docker.io/test/empty:1", nil, nil); err == nil {
		t.Fatal("empty index accepted")
	}
}

// The old index blob goes when nothing uses it, but stays while another name (here a copy of the entry) does.
func TestIndexWriteOldIndexBlob(t *testing.T) {
	c := newCache(t)
	amd := mustImage(t, c, "amd64", "a")
	old, err := c.IndexWriteNamed("docker.io/test/x:1", []ocispec.Descriptor{amd}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DescriptorWrite("docker.io/test/x:copy", old); err != nil {
		t.Fatal(err)
	}
	if _, err := c.IndexWriteNamed("docker.io/test/x:1", []ocispec.Descriptor{mustImage(t, c, "arm64", "b")}, nil); err != nil {
		t.Fatal(err)
	}
	if !c.HasBlob(old.Digest) {
		t.Fatal("old index blob deleted although docker.io/test/x:copy names it")
	}
	if err := c.Remove("docker.io/test/x:copy"); err != nil {
		t.Fatal(err)
	}
	cur, _ := c.FindRoot("docker.io/test/x:1")
	if _, err := c.IndexWriteNamed("docker.io/test/x:1", []ocispec.Descriptor{mustImage(t, c, "s390x", "c")}, nil); err != nil {
		t.Fatal(err)
	}
	if c.HasBlob(cur.Digest) {
		t.Fatal("unused old index blob kept")
	}
	// The children are still there: the new index uses them.
	for _, d := range []digest.Digest{amd.Digest} {
		if !c.HasBlob(d) {
			t.Fatalf("child %s deleted", d)
		}
	}
	checkLayout(t, c.Dir())
}

func TestRemoveKeepsSharedBlobs(t *testing.T) {
	c := newCache(t)
	importFixture(t, c)
	// A second name for the fixture's amd64 image: shares manifest, config and layer with busybox:fixture.
	amd := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.Digest(fixtureAmd64), Size: 405}
	if err := c.DescriptorWrite("docker.io/library/busybox:fixture-amd64", amd); err != nil {
		t.Fatal(err)
	}
	var amdManifest ocispec.Manifest
	if err := c.readJSONBlob(amd.Digest, &amdManifest); err != nil {
		t.Fatal(err)
	}
	own := mustImage(t, c, "amd64", "own") // unshared
	if err := c.DescriptorWrite("docker.io/test/own:1", own); err != nil {
		t.Fatal(err)
	}
	var ownManifest ocispec.Manifest
	if err := c.readJSONBlob(own.Digest, &ownManifest); err != nil {
		t.Fatal(err)
	}

	if err := c.Remove(fixtureName, "docker.io/test/own:1"); err != nil {
		t.Fatal(err)
	}
	if names, _ := c.Names(); len(names) != 1 || names[0] != "docker.io/library/busybox:fixture-amd64" {
		t.Fatalf("names %v", names)
	}
	for _, d := range []digest.Digest{amd.Digest, amdManifest.Config.Digest, amdManifest.Layers[0].Digest} {
		if !c.HasBlob(d) {
			t.Errorf("shared blob %s deleted", d)
		}
	}
	for _, d := range []digest.Digest{fixtureIndex, own.Digest, ownManifest.Config.Digest, ownManifest.Layers[0].Digest,
		"sha256:3088d8ef7f88e6a46915b845fa654f1bed49fe523be1756ea76af0e890b1fcef", // arm64 manifest
		"sha256:5127ebf686f727c7188efe71b0ab8b8bef965d0db33423babbd863497560b5fd", // arm64 layer
	} {
		if c.HasBlob(d) {
			t.Errorf("unreachable blob %s kept", d)
		}
	}
	if ok, err := c.ImageInCache("docker.io/library/busybox:fixture-amd64", "amd64"); !ok || err != nil {
		t.Fatalf("remaining image incomplete: %v %v", ok, err)
	}
	checkLayout(t, c.Dir())

	if err := c.Clean(); err != nil {
		t.Fatal(err)
	}
	if names, _ := c.Names(); len(names) != 0 {
		t.Fatalf("names after Clean: %v", names)
	}
	if c.HasBlob(amd.Digest) {
		t.Fatal("blob left after Clean")
	}
	checkLayout(t, c.Dir())
}

func TestReadIndexAndManifest(t *testing.T) {
	c := newCache(t)
	importFixture(t, c)
	idx, err := c.ReadIndex(digest.Digest(fixtureIndex))
	if err != nil || len(idx.Manifests) != 3 {
		t.Fatalf("ReadIndex: %d children, %v", len(idx.Manifests), err)
	}
	m, err := c.ReadManifest(digest.Digest(fixtureAmd64))
	if err != nil || len(m.Layers) != 1 {
		t.Fatalf("ReadManifest: %+v, %v", m, err)
	}
	if _, err := c.ReadIndex(digest.Digest(fixtureAmd64)); err == nil {
		t.Error("ReadIndex of a manifest succeeded")
	}
	if _, err := c.ReadManifest(digest.Digest(fixtureIndex)); err == nil {
		t.Error("ReadManifest of an index succeeded")
	}
	if _, err := c.ReadManifest(digest.FromString("missing")); err == nil {
		t.Error("ReadManifest of a missing blob succeeded")
	}
}

// TestIndexWriteNamedAllOrNothing: the per-arch names and the index land in one index.json update; when one of
// them cannot be named, none is.
func TestIndexWriteNamedAllOrNothing(t *testing.T) {
	c := newCache(t)
	amd := mustImage(t, c, "amd64", "amd")
	arm := mustImage(t, c, "arm64", "arm")
	others := map[string]ocispec.Descriptor{"docker.io/test/p:t-amd64": amd, "docker.io/test/p:t-arm64": arm}
	root, err := c.IndexWriteNamed("docker.io/test/p:t", []ocispec.Descriptor{amd, arm}, others)
	if err != nil {
		t.Fatal(err)
	}
	names, err := c.Names()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names, " "); got != "docker.io/test/p:t docker.io/test/p:t-amd64 docker.io/test/p:t-arm64" {
		t.Errorf("names %s", got)
	}
	if found, err := c.FindRoot("docker.io/test/p:t"); err != nil || found.Digest != root.Digest {
		t.Errorf("FindRoot: %v %v, want the index %s", found.Digest, err, root.Digest)
	}

	missing := amd
	missing.Digest = digest.FromString("not in the cache")
	others = map[string]ocispec.Descriptor{"docker.io/test/q:t-amd64": missing}
	if _, err := c.IndexWriteNamed("docker.io/test/q:t", []ocispec.Descriptor{amd}, others); err == nil ||
		!strings.Contains(err.Error(), "not in the cache") {
		t.Fatalf("naming a missing blob: got %v", err)
	}
	if after, _ := c.Names(); len(after) != len(names) {
		t.Errorf("a failed IndexWriteNamed changed the names: %v → %v", names, after)
	}
}
