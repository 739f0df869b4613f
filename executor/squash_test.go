package executor

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestRootOwnedApplier(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("applying a layer mounts, which needs root")
	}
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, h := range []*tar.Header{
		{Name: "home/", Typeflag: tar.TypeDir, Mode: 0o755, Uid: 1000, Gid: 1000},
		{Name: "home/file", Typeflag: tar.TypeReg, Mode: 0o600, Uid: 1000, Gid: 50, Uname: "user", Size: 3},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			if _, err := tw.Write([]byte("hi\n")); err != nil {
				t.Fatal(err)
			}
		}
	}
	tw.Close()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(raw.Bytes()); err != nil {
		t.Fatal(err)
	}
	zw.Close()

	// The engine's tests point temporary mounts at their own (removed) state dirs: this one needs a live one.
	if err := useStateDirForTempMounts(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store, err := local.NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: digest.FromBytes(gz.Bytes()), Size: int64(gz.Len())}
	if err := content.WriteBlob(ctx, store, "layer", bytes.NewReader(gz.Bytes()), desc); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	got, err := rootOwnedApplier{store: store}.Apply(ctx, desc, []mount.Mount{{Type: "bind", Source: dir, Options: []string{"rbind", "rw"}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := digest.FromBytes(raw.Bytes()); got.Digest != want || got.Size != int64(raw.Len()) {
		t.Errorf("applied %s (%d bytes), want the uncompressed layer's %s (%d bytes)", got.Digest, got.Size, want, raw.Len())
	}
	for _, p := range []string{"home", "home/file"} {
		fi, err := os.Stat(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 || st.Gid != 0 {
			t.Errorf("%s belongs to %d:%d, want root", p, st.Uid, st.Gid)
		}
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "home/file")); string(data) != "hi\n" {
		t.Errorf("file content %q", data)
	}
}
