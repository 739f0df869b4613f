package snapshot

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

const fixtureDir = "../examples/busybox-oci"

// Digests of the bundled fixture (/work/shared/fixtures/README.md).
const (
	fixtureName  = "busybox:fixture"
	fixtureIndex = "sha256:a4db15e1aaa08a6e8d3abf5fe1c4c5526848ad4cb57a9add736f5719771b0434"
	fixtureAmd64 = "sha256:5e39bed7728ca5f5be24843b8f57eb85111089b0012a3c97376eca5df21a8332"
)

// childEnv selects a helper mode of the test binary (see TestMain); the tests re-execute themselves to get a
// second process to lock against, or one to kill.
const childEnv = "LKPKG_SNAPSHOT_CHILD"

func TestMain(m *testing.M) {
	if StoreMain() { // containers-storage re-executes the test binary to unpack layers
		return
	}
	// BuildKit's executor runs with umask 0; every mode the cache writes must be explicit.
	unix.Umask(0)
	if mode := os.Getenv(childEnv); mode != "" {
		if err := runChild(mode, os.Getenv("LKPKG_SNAPSHOT_DIR"), os.Getenv("LKPKG_SNAPSHOT_ARG")); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runChild(mode, dir, arg string) error {
	c, err := OpenCache(dir)
	if err != nil {
		return err
	}
	switch mode {
	case "crash":
		slowWrites = true
		// Write until killed, printing "ready" once every kind of write has happened at least once.
		for i := 0; ; i++ {
			arch := []string{"amd64", "arm64", "s390x"}[i%3]
			d, err := makeImage(c, arch, fmt.Sprintf("crash-%s-%d", arg, i), 1<<20+rand.IntN(3<<20))
			if err != nil {
				return err
			}
			if err := c.DescriptorWrite(fmt.Sprintf("docker.io/test/crash:%d", i%5), d); err != nil {
				return err
			}
			if _, err := c.IndexWriteNamed("docker.io/test/crash:multi", []ocispec.Descriptor{d, attestationFor(c, d)}, nil); err != nil {
				return err
			}
			if i%4 == 3 {
				if err := c.Remove(fmt.Sprintf("docker.io/test/crash:%d", (i+1)%5)); err != nil && !strings.Contains(err.Error(), "not found") {
					return err
				}
			}
			if i == 3 {
				fmt.Println("ready")
			}
		}
	case "hold":
		// Holds the lock the way linuxkit's util.Lock takes it until stdin closes.
		f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		lk := unix.Flock_t{Type: unix.F_WRLCK}
		if err := unix.FcntlFlock(f.Fd(), unix.F_SETLKW, &lk); err != nil {
			return err
		}
		fmt.Println("locked")
		_, _ = io.Copy(io.Discard, os.Stdin) // the lock is held until stdin ends, however it ends
		return nil
	case "writer":
		// Writes names docker.io/test/<arg>:<i> and merges one arch per process into a shared index.
		arch := strings.Split(arg, ",")[1]
		for i := 0; i < 10; i++ {
			d, err := makeImage(c, arch, fmt.Sprintf("writer-%s-%d", arg, i), 4096)
			if err != nil {
				return err
			}
			if err := c.DescriptorWrite(fmt.Sprintf("docker.io/test/%s:%d", strings.Split(arg, ",")[0], i), d); err != nil {
				return err
			}
			if _, err := c.IndexWriteNamed("docker.io/test/shared:multi", []ocispec.Descriptor{d}, nil); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown child mode %q", mode)
}

func child(t *testing.T, mode, dir, arg string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, "LKPKG_SNAPSHOT_DIR="+dir, "LKPKG_SNAPSHOT_ARG="+arg)
	cmd.Stderr = os.Stderr
	return cmd
}

func newCache(t *testing.T) *Cache {
	t.Helper()
	c, err := OpenCache(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tarDir returns dir as a tar, as `tar -C dir -cf - .` would.
func tarDir(t testing.TB, dir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		hdr, _ := tar.FileInfoHeader(fi, "")
		hdr.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			_, err = tw.Write(b)
			return err
		}
		return nil
	})
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func importFixture(t *testing.T, c *Cache) []ocispec.Descriptor {
	t.Helper()
	descs, err := c.ImportOCI(bytes.NewReader(tarDir(t, fixtureDir)))
	if err != nil {
		t.Fatal(err)
	}
	return descs
}

// slowWrites makes makeImage stream its layer slowly, so that a kill lands in the middle of a blob write.
var slowWrites bool

type slowReader struct{ r io.Reader }

func (s *slowReader) Read(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	if len(p) > 64<<10 {
		p = p[:64<<10]
	}
	return s.r.Read(p)
}

// makeImage writes a one-layer image for linux/arch whose layer holds a file named after seed, padded to about
// size bytes, and returns its manifest descriptor with the platform set, as in an index.
func makeImage(c *Cache, arch, seed string, size int) (ocispec.Descriptor, error) {
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	content := make([]byte, size)
	r := rand.NewChaCha8([32]byte([]byte(fmt.Sprintf("%-32.32s", seed))))
	_, _ = r.Read(content) // ChaCha8.Read always fills content and returns nil
	if err := tw.WriteHeader(&tar.Header{Name: "data/" + seed, Mode: 0o644, Size: int64(size), Typeflag: tar.TypeReg}); err != nil {
		return ocispec.Descriptor{}, err
	}
	if _, err := tw.Write(content); err != nil {
		return ocispec.Descriptor{}, err
	}
	tw.Close()
	diffID := digest.FromBytes(layer.Bytes())
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	if _, err := zw.Write(layer.Bytes()); err != nil {
		return ocispec.Descriptor{}, err
	}
	zw.Close()
	ld := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: digest.FromBytes(gz.Bytes()), Size: int64(gz.Len())}
	var lr io.Reader = &gz
	if slowWrites {
		lr = &slowReader{r: lr}
	}
	if err := c.WriteBlob(lr, ld); err != nil {
		return ocispec.Descriptor{}, err
	}
	cfg, _ := json.Marshal(ocispec.Image{
		Platform: ocispec.Platform{OS: "linux", Architecture: arch},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}},
		Config:   ocispec.ImageConfig{Cmd: []string{"/bin/sh"}, Labels: map[string]string{"seed": seed}},
	})
	cd, err := c.writeBlobBytes(cfg, ocispec.MediaTypeImageConfig)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cd, Layers: []ocispec.Descriptor{ld}}
	m.SchemaVersion = 2
	mb, _ := json.Marshal(m)
	md, err := c.writeBlobBytes(mb, ocispec.MediaTypeImageManifest)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	md.Platform = &ocispec.Platform{OS: "linux", Architecture: arch}
	return md, nil
}

func mustImage(t *testing.T, c *Cache, arch, seed string) ocispec.Descriptor {
	t.Helper()
	d, err := makeImage(c, arch, seed, 512)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// attestationFor writes a BuildKit-style attestation manifest for the image d and returns its index descriptor.
func attestationFor(c *Cache, d ocispec.Descriptor) ocispec.Descriptor {
	stmt := []byte(`{"_type":"https://in-toto.io/Statement/v0.1","subject":[{"digest":{"sha256":"` + d.Digest.Encoded() + `"}}]}`)
	sd, _ := c.writeBlobBytes(stmt, "application/vnd.in-toto+json")
	cd, _ := c.writeBlobBytes([]byte(`{"architecture":"unknown","os":"unknown","rootfs":{"type":"layers","diff_ids":[]}}`), ocispec.MediaTypeImageConfig)
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cd, Layers: []ocispec.Descriptor{sd}}
	m.SchemaVersion = 2
	mb, _ := json.Marshal(m)
	md, _ := c.writeBlobBytes(mb, ocispec.MediaTypeImageManifest)
	md.Platform = &ocispec.Platform{OS: "unknown", Architecture: "unknown"}
	md.Annotations = map[string]string{
		AnnotationReferenceDigest:   d.Digest.String(),
		"vnd.docker.reference.type": "attestation-manifest",
	}
	return md
}

// checkLayout asserts that dir is a valid OCI layout: oci-layout and index.json parse, every blob file matches
// its digest, every index.json descriptor's blob exists and parses as a manifest or index, and so on down for
// every child that is present. With skopeo installed, skopeo must also read every named entry.
func checkLayout(t *testing.T, dir string) {
	t.Helper()
	var layout ocispec.ImageLayout
	readJSON(t, filepath.Join(dir, layoutFile), &layout)
	if layout.Version != ocispec.ImageLayoutVersion {
		t.Fatalf("oci-layout version %q", layout.Version)
	}
	var idx ocispec.Index
	readJSON(t, filepath.Join(dir, indexFile), &idx)
	blobs, _ := filepath.Glob(filepath.Join(dir, blobsDir, "sha256", "*"))
	for _, p := range blobs {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := digest.SHA256.FromReader(f)
		f.Close()
		if err != nil || got.Encoded() != filepath.Base(p) {
			t.Errorf("blob %s holds %s (partial write?)", p, got)
		}
	}
	var walk func(d ocispec.Descriptor, top bool)
	walk = func(d ocispec.Descriptor, top bool) {
		b, err := os.ReadFile(filepath.Join(dir, blobsDir, d.Digest.Algorithm().String(), d.Digest.Encoded()))
		if err != nil {
			if top {
				t.Errorf("index.json names %s (%s) but its blob is missing", d.Digest, d.Annotations[AnnotationRefName])
			}
			return // children may be absent: sparse layouts are legal
		}
		if top && int64(len(b)) != d.Size {
			t.Errorf("index.json says %s has %d bytes, blob has %d", d.Digest, d.Size, len(b))
		}
		if !IsIndexMediaType(d.MediaType) && !IsManifestMediaType(d.MediaType) {
			return
		}
		var m manifestKind
		if err := json.Unmarshal(b, &m); err != nil {
			t.Errorf("blob %s does not parse: %v", d.Digest, err)
			return
		}
		if IsIndexMediaType(d.MediaType) != m.isIndex() {
			t.Errorf("descriptor %s says %s, content is index=%v", d.Digest, d.MediaType, m.isIndex())
		}
		for _, ch := range m.Manifests {
			walk(ch, false)
		}
	}
	for _, d := range idx.Manifests {
		walk(d, true)
	}
	if _, err := exec.LookPath("skopeo"); err == nil {
		for _, d := range idx.Manifests {
			name := d.Annotations[AnnotationRefName]
			if name == "" {
				continue
			}
			// --raw reads only the root, which is always present; sparse children are legal.
			out, err := exec.Command("skopeo", "inspect", "--raw", "oci:"+dir+":"+name).CombinedOutput()
			if err != nil {
				t.Errorf("skopeo inspect oci:%s:%s: %v\n%s", dir, name, err, out)
			}
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
