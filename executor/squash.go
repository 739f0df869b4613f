package executor

import (
	"archive/tar"
	"context"
	"fmt"
	"io"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/diff"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/pkg/archive"
	"github.com/containerd/containerd/v2/pkg/archive/compression"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// rootOwnedApplier unpacks image layers giving every file to root. In a user namespace with a single id no
// other owner exists, and unpacking a base image with files of other owners would fail (EINVAL from lchown); so,
// as BuildKit's rootless mode with a single id does, their owners are squashed to root.
type rootOwnedApplier struct {
	store content.Store
}

var _ diff.Applier = rootOwnedApplier{}

func (a rootOwnedApplier) Apply(ctx context.Context, desc ocispec.Descriptor, mounts []mount.Mount, _ ...diff.ApplyOpt) (ocispec.Descriptor, error) {
	ra, err := a.store.ReaderAt(ctx, desc)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("read layer %s: %w", desc.Digest, err)
	}
	defer ra.Close()
	layer, err := compression.DecompressStream(content.NewReader(ra))
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("decompress layer %s: %w", desc.Digest, err)
	}
	defer layer.Close()
	digester := digest.Canonical.Digester()
	counted := &countingReader{r: io.TeeReader(layer, digester.Hash())}
	toRoot := func(h *tar.Header) (bool, error) {
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
		return true, nil
	}
	err = mount.WithTempMount(ctx, mounts, func(root string) error {
		_, err := archive.Apply(ctx, root, counted, archive.WithFilter(toRoot))
		return err
	})
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("unpack layer %s: %w", desc.Digest, err)
	}
	// The diff id is the digest of the whole uncompressed stream, padding after the tar's end included.
	if _, err := io.Copy(io.Discard, counted); err != nil {
		return ocispec.Descriptor{}, err
	}
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Size: counted.n, Digest: digester.Digest()}, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
