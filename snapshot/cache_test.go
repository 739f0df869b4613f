package snapshot

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestOpenCacheCreatesLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "cache")
	c, err := OpenCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkLayout(t, c.Dir())
	// Modes are explicit: TestMain runs with umask 0.
	for name, want := range map[string]os.FileMode{
		"":             dirPerm,
		blobsDir:       dirPerm,
		"blobs/sha256": dirPerm,
		layoutFile:     filePerm,
		indexFile:      filePerm,
		lockFileName:   filePerm,
	} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", name, got, want)
		}
	}
	// Reopening keeps what is there.
	d := mustImage(t, c, "amd64", "keep")
	if err := c.DescriptorWrite("docker.io/test/keep:1", d); err != nil {
		t.Fatal(err)
	}
	c2, err := OpenCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	if names, _ := c2.Names(); len(names) != 1 || names[0] != "docker.io/test/keep:1" {
		t.Fatalf("names after reopen: %v", names)
	}
	b, _ := os.ReadFile(filepath.Join(dir, blobsDir, "sha256", d.Digest.Encoded()))
	if fi, _ := os.Stat(filepath.Join(dir, blobsDir, "sha256", d.Digest.Encoded())); fi.Mode().Perm() != filePerm || len(b) == 0 {
		t.Errorf("blob mode %v", fi.Mode().Perm())
	}
}

func TestImportFixtureRoundTrip(t *testing.T) {
	c := newCache(t)
	descs := importFixture(t, c)
	if len(descs) != 1 || descs[0].Digest.String() != fixtureIndex || descs[0].Annotations[AnnotationRefName] != fixtureName {
		t.Fatalf("import returned %+v", descs)
	}
	list, err := c.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[fixtureName].Digest.String() != fixtureIndex {
		t.Fatalf("List = %+v", list)
	}
	root, err := c.FindRoot(fixtureName)
	if err != nil || root.MediaType != ocispec.MediaTypeImageIndex {
		t.Fatalf("FindRoot = %+v, %v", root, err)
	}
	for _, tc := range []struct {
		arch string
		want bool
	}{{"amd64", true}, {"arm64", true}, {"s390x", true}, {"riscv64", false}} {
		got, err := c.ImageInCache(fixtureName, tc.arch)
		if err != nil || got != tc.want {
			t.Errorf("ImageInCache(%s) = %v, %v; want %v", tc.arch, got, err, tc.want)
		}
	}
	if got, err := c.ImageInCache("docker.io/library/nothere:1", "amd64"); got || err != nil {
		t.Errorf("ImageInCache(unknown) = %v, %v", got, err)
	}
	// Importing again changes nothing (no duplicate entry).
	importFixture(t, c)
	var idx ocispec.Index
	readJSON(t, filepath.Join(c.Dir(), indexFile), &idx)
	if len(idx.Manifests) != 1 {
		t.Fatalf("index.json after second import has %d entries", len(idx.Manifests))
	}
	checkLayout(t, c.Dir())

	// Export as OCI, import into a second cache: the name and digest survive.
	var buf bytes.Buffer
	if err := c.Export(fixtureName, ExportOptions{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		Format: FormatOCI, RefName: "docker.io/library/busybox:fixture-amd64"}, &buf); err != nil {
		t.Fatal(err)
	}
	c2 := newCache(t)
	got, err := c2.ImportOCI(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Digest.String() != fixtureAmd64 || got[0].Annotations[AnnotationRefName] != "docker.io/library/busybox:fixture-amd64" {
		t.Fatalf("re-import = %+v", got)
	}
	if ok, err := c2.ImageInCache("docker.io/library/busybox:fixture-amd64", "amd64"); !ok || err != nil {
		t.Fatalf("re-imported image incomplete: %v %v", ok, err)
	}
	checkLayout(t, c2.Dir())
}

// BuildKit's oci exporter names its descriptor with io.containerd.image.name; that becomes the cache name, and a
// second import of the same name replaces the first.
func TestImportNamesByContainerdAnnotation(t *testing.T) {
	src := newCache(t)
	img1 := mustImage(t, src, "amd64", "one")
	img2 := mustImage(t, src, "amd64", "two")
	c := newCache(t)
	for _, img := range []ocispec.Descriptor{img1, img2} {
		img.Annotations = map[string]string{AnnotationImageName: "docker.io/linuxkit/foo:abc-amd64"}
		descs, err := c.ImportOCI(bytes.NewReader(layoutTar(t, src, img)))
		if err != nil {
			t.Fatal(err)
		}
		if descs[0].Annotations[AnnotationRefName] != "docker.io/linuxkit/foo:abc-amd64" ||
			descs[0].Annotations[AnnotationImageName] != "docker.io/linuxkit/foo:abc-amd64" {
			t.Fatalf("annotations %v", descs[0].Annotations)
		}
	}
	var idx ocispec.Index
	readJSON(t, filepath.Join(c.Dir(), indexFile), &idx)
	if len(idx.Manifests) != 1 || idx.Manifests[0].Digest != img2.Digest {
		t.Fatalf("index.json = %+v", idx.Manifests)
	}
	checkLayout(t, c.Dir())
}

// layoutTar is an OCI layout tar holding the image d (manifest, config, layers) of src, with index.json = [d].
func layoutTar(t *testing.T, src *Cache, d ocispec.Descriptor) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, b []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	idx, _ := json.Marshal(newIndex([]ocispec.Descriptor{d}))
	add("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))
	add("index.json", idx)
	var m ocispec.Manifest
	raw, _ := src.ReadBlob(d.Digest)
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, b := range append([]ocispec.Descriptor{d, m.Config}, m.Layers...) {
		content, err := src.ReadBlob(b.Digest)
		if err != nil {
			t.Fatal(err)
		}
		add("blobs/sha256/"+b.Digest.Encoded(), content)
	}
	tw.Close()
	return buf.Bytes()
}

func TestDescriptorWriteKeepsAnnotations(t *testing.T) {
	c := newCache(t)
	d := mustImage(t, c, "amd64", "ann")
	d.Annotations = map[string]string{AnnotationImageName: "docker.io/x/y:1", "other": "kept"}
	if err := c.DescriptorWrite("docker.io/x/y:1", d); err != nil {
		t.Fatal(err)
	}
	d2 := mustImage(t, c, "amd64", "ann2")
	if err := c.DescriptorWrite("docker.io/x/y:2", d2); err != nil {
		t.Fatal(err)
	}
	// Replacing a name keeps one descriptor of that name.
	if err := c.DescriptorWrite("docker.io/x/y:1", d); err != nil {
		t.Fatal(err)
	}
	var idx ocispec.Index
	readJSON(t, filepath.Join(c.Dir(), indexFile), &idx)
	if len(idx.Manifests) != 2 {
		t.Fatalf("index.json: %+v", idx.Manifests)
	}
	got, _ := c.FindRoot("docker.io/x/y:1")
	if got.Annotations["other"] != "kept" || got.Annotations[AnnotationImageName] != "docker.io/x/y:1" ||
		got.Annotations[AnnotationRefName] != "docker.io/x/y:1" {
		t.Fatalf("annotations: %v", got.Annotations)
	}
	if d.Annotations[AnnotationRefName] != "" {
		t.Fatal("DescriptorWrite changed the caller's annotation map")
	}
	missing := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("nope"), Size: 4}
	if err := c.DescriptorWrite("docker.io/x/y:3", missing); err == nil {
		t.Fatal("naming a missing blob succeeded")
	}
}

func TestWriteBlobVerifies(t *testing.T) {
	c := newCache(t)
	content := []byte("hello blob")
	good := ocispec.Descriptor{Digest: digest.FromBytes(content), Size: int64(len(content))}
	tests := []struct {
		name    string
		desc    ocispec.Descriptor
		content []byte
		wantErr string
	}{
		{"wrong digest", ocispec.Descriptor{Digest: digest.FromString("other"), Size: 10}, content, "does not match"},
		{"short", good, content[:5], "got 5 bytes"},
		{"long", good, append(content, '!'), "got 11 bytes"},
		{"bad digest", ocispec.Descriptor{Digest: "sha256:../../etc", Size: 10}, content, "bad digest"},
		{"good", good, content, ""},
		{"good again", good, nil, ""}, // present: not read
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := c.WriteBlob(bytes.NewReader(tc.content), tc.desc)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
	if b, err := c.ReadBlob(good.Digest); err != nil || string(b) != string(content) {
		t.Fatalf("ReadBlob = %q, %v", b, err)
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(c.Dir())
	for _, e := range entries {
		if isTemp(e.Name()) {
			t.Errorf("left %s", e.Name())
		}
	}
	checkLayout(t, c.Dir())
}

func TestBadInputs(t *testing.T) {
	t.Run("corrupt index.json", func(t *testing.T) {
		c := newCache(t)
		path := filepath.Join(c.Dir(), indexFile)
		if err := os.WriteFile(path, []byte(`{"manifests": [`), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, op := range []func() error{
			func() error { _, err := c.List(); return err },
			func() error { _, err := c.FindRoot("x"); return err },
			func() error { return c.Remove("x") },
			func() error { _, err := c.ImportOCI(bytes.NewReader(tarDir(t, fixtureDir))); return err },
		} {
			err := op()
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "cache clean") {
				t.Errorf("err = %v; want it to name %s and say how to fix it", err, path)
			}
		}
		// Clean repairs it.
		if err := c.Clean(); err != nil {
			t.Fatal(err)
		}
		checkLayout(t, c.Dir())
	})
	t.Run("unknown name", func(t *testing.T) {
		c := newCache(t)
		importFixture(t, c)
		for _, err := range []error{
			func() error { _, err := c.FindRoot("docker.io/library/nothere:1"); return err }(),
			c.Remove("docker.io/library/nothere:1"),
			c.Export("docker.io/library/nothere:1", ExportOptions{}, &bytes.Buffer{}),
		} {
			if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "docker.io/library/nothere:1") {
				t.Errorf("err = %v", err)
			}
		}
		// Remove of a known and an unknown name removes neither.
		if err := c.Remove(fixtureName, "nothere"); err == nil {
			t.Fatal("no error")
		}
		if _, err := c.FindRoot(fixtureName); err != nil {
			t.Fatal(err)
		}
		err := c.Export(fixtureName, ExportOptions{Platform: ocispec.Platform{OS: "linux", Architecture: "riscv64"}}, &bytes.Buffer{})
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "linux/amd64") {
			t.Errorf("missing platform: %v", err)
		}
	})
	t.Run("import", func(t *testing.T) {
		fixture := tarDir(t, fixtureDir)
		for _, tc := range []struct {
			name, want string
			input      []byte
		}{
			{"not a tar", "not a tar archive", []byte("this is not a tar file, just some text that is long enough to fill a header block or not")},
			{"empty", "no index.json", nil},
			{"truncated", "truncated", fixture[:len(fixture)/2]},
			{"no index.json", "no index.json", tarWithout(t, fixture, "index.json")},
			{"missing root", "neither in the tar nor in the cache", tarWithout(t, fixture, "blobs/sha256/"+strings.TrimPrefix(fixtureIndex, "sha256:"))},
			{"corrupt blob", "does not match", corruptBlob(t, fixture)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := newCache(t)
				_, err := c.ImportOCI(bytes.NewReader(tc.input))
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want %q", err, tc.want)
				}
				// Nothing written: no names, no blobs, no temporary files.
				if names, _ := c.Names(); len(names) != 0 {
					t.Errorf("names %v", names)
				}
				blobs, _ := os.ReadDir(filepath.Join(c.Dir(), blobsDir, "sha256"))
				entries, _ := os.ReadDir(c.Dir())
				if len(blobs) != 0 || len(entries) != 4 { // .lock, blobs, index.json, oci-layout
					t.Errorf("left %d blobs, %d entries", len(blobs), len(entries))
				}
			})
		}
	})
}

// tarWithout copies a tar, leaving out the entry drop.
func tarWithout(t *testing.T, in []byte, drop string) []byte {
	return rewriteTar(t, in, func(h *tar.Header, b []byte) []byte {
		if h.Name == drop {
			return nil
		}
		return b
	})
}

func corruptBlob(t *testing.T, in []byte) []byte {
	done := false
	return rewriteTar(t, in, func(h *tar.Header, b []byte) []byte {
		if strings.HasPrefix(h.Name, "blobs/sha256/") && !done && len(b) > 0 {
			done = true
			b = append([]byte(nil), b...)
			b[0] ^= 0xff
		}
		return b
	})
}

func rewriteTar(t *testing.T, in []byte, fn func(*tar.Header, []byte) []byte) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(in))
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		b := make([]byte, h.Size)
		if _, err := tr.Read(b); err != nil && h.Size > 0 && err.Error() != "EOF" {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			nb := fn(h, b)
			if nb == nil {
				continue
			}
			b = nb
			h.Size = int64(len(b))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	return out.Bytes()
}

func TestConcurrentGoroutines(t *testing.T) {
	c := newCache(t)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each goroutine opens its own Cache on the same dir, as separate commands in one process would.
			cg, err := OpenCache(c.Dir())
			if err != nil {
				errs <- err
				return
			}
			arch := []string{"amd64", "arm64", "s390x", "riscv64"}[g]
			for i := 0; i < 5; i++ {
				d, err := makeImage(cg, arch, "g"+arch+string(rune('a'+i)), 1024)
				if err == nil {
					err = cg.DescriptorWrite("docker.io/test/"+arch+":"+string(rune('a'+i)), d)
				}
				if err == nil {
					_, err = cg.IndexWriteNamed("docker.io/test/all:multi", []ocispec.Descriptor{d}, nil)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	names, _ := c.Names()
	if len(names) != 21 {
		t.Fatalf("%d names: %v", len(names), names)
	}
	assertArches(t, c, "docker.io/test/all:multi", "amd64", "arm64", "riscv64", "s390x")
	checkLayout(t, c.Dir())
}

// Two processes writing different names (and merging into one shared index) at once: everything lands.
func TestConcurrentProcesses(t *testing.T) {
	c := newCache(t)
	a := child(t, "writer", c.Dir(), "pa,amd64")
	b := child(t, "writer", c.Dir(), "pb,arm64")
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	if err := a.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := b.Wait(); err != nil {
		t.Fatal(err)
	}
	names, _ := c.Names()
	if len(names) != 21 {
		t.Fatalf("%d names: %v", len(names), names)
	}
	assertArches(t, c, "docker.io/test/shared:multi", "amd64", "arm64")
	checkLayout(t, c.Dir())
}

func assertArches(t *testing.T, c *Cache, name string, arches ...string) {
	t.Helper()
	root, err := c.FindRoot(name)
	if err != nil {
		t.Fatal(err)
	}
	var idx ocispec.Index
	if err := c.readJSONBlob(root.Digest, &idx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range idx.Manifests {
		got = append(got, m.Platform.Architecture)
	}
	if strings.Join(got, ",") != strings.Join(arches, ",") && !sameSet(got, arches) {
		t.Fatalf("%s arches %v, want %v", name, got, arches)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}
