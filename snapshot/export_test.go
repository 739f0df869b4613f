package snapshot

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func exportFile(t *testing.T, c *Cache, name string, opts ExportOptions) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out.tar")
	err := WriteFileAtomic(path, filePerm, func(w io.Writer) error { return c.Export(name, opts, w) })
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func fixtureManifest(t *testing.T, c *Cache, digestStr string) ocispec.Manifest {
	t.Helper()
	var m ocispec.Manifest
	if err := c.readJSONBlob(digest.Digest(digestStr), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestExportDocker(t *testing.T) {
	c := newCache(t)
	importFixture(t, c)
	amd := fixtureManifest(t, c, fixtureAmd64)
	for _, tc := range []struct {
		name, refName, wantTag string
	}{
		{"cache name", "", "busybox:fixture"},
		{"--name", "docker.io/linuxkit/busybox:abc-amd64", "linuxkit/busybox:abc-amd64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := exportFile(t, c, fixtureName, ExportOptions{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
				Format: FormatDocker, RefName: tc.refName})
			// manifest.json as docker load reads it.
			var manifest []struct {
				Config   string
				RepoTags []string
				Layers   []string
			}
			readJSON(t, extractFile(t, path, "manifest.json"), &manifest)
			t.Logf("RepoTags %v", manifest[0].RepoTags)
			if len(manifest) != 1 || len(manifest[0].RepoTags) != 1 || !strings.HasSuffix(manifest[0].RepoTags[0], tc.wantTag) ||
				len(manifest[0].Layers) != 1 || !strings.Contains(manifest[0].Config, amd.Config.Digest.Encoded()) {
				t.Fatalf("manifest.json = %+v", manifest)
			}
			img, err := tarball.ImageFromPath(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Image(img); err != nil {
				t.Fatal(err)
			}
			if _, err := exec.LookPath("skopeo"); err != nil {
				return
			}
			out, err := exec.Command("skopeo", "inspect", "--config", "docker-archive:"+path).Output()
			if err != nil {
				t.Fatalf("skopeo inspect --config docker-archive: %v", err)
			}
			var cfg ocispec.Image
			if err := json.Unmarshal(out, &cfg); err != nil {
				t.Fatal(err)
			}
			if cfg.Architecture != "amd64" || cfg.Config.Env[0] != "PATH=/bin" {
				t.Fatalf("config %s", out)
			}
			out, err = exec.Command("skopeo", "inspect", "--raw", "docker-archive:"+path).Output()
			if err != nil {
				t.Fatal(err)
			}
			var raw ocispec.Manifest
			if err := json.Unmarshal(out, &raw); err != nil {
				t.Fatal(err)
			}
			if raw.Config.Digest != amd.Config.Digest {
				t.Fatalf("config digest %s, want %s", raw.Config.Digest, amd.Config.Digest)
			}
		})
	}
}

func TestExportFilesystem(t *testing.T) {
	c := newCache(t)
	importFixture(t, c)
	for _, arch := range []string{"amd64", "arm64"} {
		path := exportFile(t, c, fixtureName, ExportOptions{Platform: ocispec.Platform{OS: "linux", Architecture: arch},
			Format: FormatFilesystem})
		files := tarFiles(t, path)
		if h, ok := files["bin/busybox"]; !ok || h.Typeflag != tar.TypeReg || h.Size < 100000 {
			t.Fatalf("%s: bin/busybox missing or wrong: %+v", arch, h)
		}
		if h := files["bin/sh"]; h == nil || h.Typeflag != tar.TypeSymlink {
			t.Fatalf("%s: bin/sh: %+v", arch, h)
		}
	}
}

// Layers are flattened with OCI whiteouts applied, including opaque directories (which ggcr's Extract ignores).
func TestExportFilesystemWhiteouts(t *testing.T) {
	type entry struct{ name, content string } // a name ending in / is a directory
	tests := []struct {
		name   string
		layers [][]entry
		want   string // sorted paths of the output
	}{
		{"file whiteout", [][]entry{
			{{"etc/", ""}, {"etc/keep", "k"}, {"etc/gone", "g"}},
			{{"etc/.wh.gone", ""}, {"etc/new", "n"}},
		}, "etc etc/keep etc/new"},
		{"directory whiteout", [][]entry{
			{{"a/", ""}, {"a/b/", ""}, {"a/b/c", "c"}, {"a/d", "d"}},
			{{"a/.wh.b", ""}},
		}, "a a/d"},
		{"opaque directory", [][]entry{
			{{"a/", ""}, {"a/old", "o"}, {"a/sub/", ""}, {"a/sub/x", "x"}, {"keep", "k"}},
			{{"a/", ""}, {"a/.wh..wh..opq", ""}, {"a/new", "n"}},
		}, "a a/new keep"},
		{"upper file wins", [][]entry{
			{{"f", "lower"}},
			{{"./f", "upper"}},
		}, "f"},
		{"file replaces directory", [][]entry{
			{{"d/", ""}, {"d/x", "x"}},
			{{"d", "now a file"}},
		}, "d"},
		{"recreated after whiteout", [][]entry{
			{{"f", "1"}},
			{{".wh.f", ""}},
			{{"f", "3"}},
		}, "f"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCache(t)
			var layers []ocispec.Descriptor
			var diffIDs []digest.Digest
			for _, entries := range tc.layers {
				var buf bytes.Buffer
				tw := tar.NewWriter(&buf)
				for _, e := range entries {
					if strings.HasSuffix(e.name, "/") {
						if err := tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o755, Typeflag: tar.TypeDir}); err != nil {
							t.Fatal(err)
						}
						continue
					}
					if err := tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.content)), Typeflag: tar.TypeReg}); err != nil {
						t.Fatal(err)
					}
					if _, err := tw.Write([]byte(e.content)); err != nil {
						t.Fatal(err)
					}
				}
				tw.Close()
				d, err := c.writeBlobBytes(buf.Bytes(), ocispec.MediaTypeImageLayer)
				if err != nil {
					t.Fatal(err)
				}
				layers = append(layers, d)
				diffIDs = append(diffIDs, d.Digest)
			}
			cfg, _ := json.Marshal(ocispec.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
				RootFS: ocispec.RootFS{Type: "layers", DiffIDs: diffIDs}})
			cd, _ := c.writeBlobBytes(cfg, ocispec.MediaTypeImageConfig)
			m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cd, Layers: layers}
			m.SchemaVersion = 2
			mb, _ := json.Marshal(m)
			md, _ := c.writeBlobBytes(mb, ocispec.MediaTypeImageManifest)
			if err := c.DescriptorWrite("docker.io/test/wh:1", md); err != nil {
				t.Fatal(err)
			}
			path := exportFile(t, c, "docker.io/test/wh:1", ExportOptions{Format: FormatFilesystem})
			files := tarFiles(t, path)
			got := keys(files)
			sort.Strings(got)
			if strings.Join(got, " ") != tc.want {
				t.Fatalf("files %q, want %q", strings.Join(got, " "), tc.want)
			}
			if h := files["f"]; h != nil {
				content, _ := os.ReadFile(extractFile(t, path, h.Name))
				if last := tc.layers[len(tc.layers)-1]; string(content) != last[len(last)-1].content {
					t.Fatalf("f = %q", content)
				}
			}
		})
	}
}

func TestExportOCI(t *testing.T) {
	c := newCache(t)
	importFixture(t, c)
	path := exportFile(t, c, fixtureName, ExportOptions{Platform: ocispec.Platform{OS: "linux", Architecture: "arm64"},
		Format: FormatOCI})
	var idx ocispec.Index
	readJSON(t, extractFile(t, path, "index.json"), &idx)
	if len(idx.Manifests) != 1 {
		t.Fatalf("index.json %+v", idx)
	}
	d := idx.Manifests[0]
	// linuxkit labels this descriptor as an index; it points at an image manifest.
	if d.MediaType != ocispec.MediaTypeImageManifest || d.Digest.String() != "sha256:3088d8ef7f88e6a46915b845fa654f1bed49fe523be1756ea76af0e890b1fcef" ||
		d.Size != 405 || d.Annotations[AnnotationRefName] != fixtureName {
		t.Fatalf("descriptor %+v", d)
	}
	dir := t.TempDir()
	if out, err := exec.Command("tar", "-xf", path, "-C", dir).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, out)
	}
	checkLayout(t, dir)
	if _, err := exec.LookPath("skopeo"); err == nil {
		for _, ref := range []string{"oci-archive:" + path, "oci-archive:" + path + ":" + fixtureName} {
			out, err := exec.Command("skopeo", "inspect", ref).CombinedOutput()
			if err != nil || !strings.Contains(string(out), `"Architecture": "arm64"`) {
				t.Fatalf("skopeo inspect %s: %v\n%s", ref, err, out)
			}
		}
	}
}

// The output file is replaced whole: a shorter export over a longer file leaves no tail (linuxkit opens without
// O_TRUNC), and a failed export leaves the old file.
func TestExportReplacesFile(t *testing.T) {
	c := newCache(t)
	importFixture(t, c)
	path := filepath.Join(t.TempDir(), "out.tar")
	if err := os.WriteFile(path, bytes.Repeat([]byte("x"), 10<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := ExportOptions{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}, Format: FormatOCI}
	if err := WriteFileAtomic(path, filePerm, func(w io.Writer) error { return c.Export(fixtureName, opts, w) }); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.Export(fixtureName, opts, &buf); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, buf.Bytes()) {
		t.Fatalf("file has %d bytes, export %d", len(got), buf.Len())
	}
	err := WriteFileAtomic(path, filePerm, func(w io.Writer) error { return c.Export("docker.io/no/such:1", opts, w) })
	if err == nil {
		t.Fatal("no error")
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, got) {
		t.Fatal("failed export changed the file")
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Fatalf("temporary file left: %v", entries)
	}
}

func extractFile(t *testing.T, tarPath, name string) string {
	t.Helper()
	f, err := os.Open(tarPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in %s: %v", name, tarPath, err)
		}
		if h.Name == name {
			out := filepath.Join(t.TempDir(), filepath.Base(name))
			b, _ := io.ReadAll(tr)
			if err := os.WriteFile(out, b, 0o644); err != nil {
				t.Fatal(err)
			}
			return out
		}
	}
}

func tarFiles(t *testing.T, path string) map[string]*tar.Header {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files := map[string]*tar.Header{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimSuffix(strings.TrimPrefix(h.Name, "/"), "/")] = h
	}
}

func keys(m map[string]*tar.Header) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
