package snapshot

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"

	ggcrname "github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Format is an export format of `cache export`.
type Format string

const (
	// FormatOCI is an OCI image layout tar holding the one image (`skopeo inspect oci-archive:`).
	FormatOCI Format = "oci"
	// FormatDocker is a `docker save` tar: manifest.json with RepoTags, config and layers (`docker load`).
	FormatDocker Format = "docker"
	// FormatFilesystem is the image's root filesystem as one tar, layers flattened and whiteouts applied.
	FormatFilesystem Format = "filesystem"
)

// ExportOptions says what Export writes.
type ExportOptions struct {
	// Platform selects the image of an index; linux/<GOARCH> when OS is empty.
	Platform ocispec.Platform
	Format   Format
	// RefName names the image in the output (RepoTags, org.opencontainers.image.ref.name); the cache name when empty.
	RefName string
}

// Export writes the image name holds for opts.Platform to w in opts.Format. The image must be complete in the
// cache (config and every layer present).
func (c *Cache) Export(name string, opts ExportOptions, w io.Writer) error {
	if opts.Platform.OS == "" {
		opts.Platform, _ = ParsePlatform("")
	}
	img, err := c.resolveImage(name, opts.Platform)
	if err != nil {
		return err
	}
	for _, d := range append([]ocispec.Descriptor{img.manifest.Config}, img.manifest.Layers...) {
		if !c.HasBlob(d.Digest) {
			return fmt.Errorf("cannot export %s for %s: blob %s is not in the cache (a sparse entry; "+
				"pull it for this platform first)", name, platformString(&opts.Platform), d.Digest)
		}
	}
	// Checked before the first byte is written: to stdout, a failure half way could not be taken back.
	if err := c.verifyImage(name, img); err != nil {
		return err
	}
	refName := opts.RefName
	if refName == "" {
		refName = name
	}
	switch opts.Format {
	case FormatOCI, "":
		return c.exportOCI(img, refName, w)
	case FormatDocker:
		ref, err := ggcrname.ParseReference(refName)
		if err != nil {
			return fmt.Errorf("cannot export %s in docker format: %q is not a valid image reference for RepoTags: %w", name, refName, err)
		}
		vimg, err := c.v1Image(img)
		if err != nil {
			return err
		}
		return tarball.Write(ref, vimg, w)
	case FormatFilesystem:
		vimg, err := c.v1Image(img)
		if err != nil {
			return err
		}
		return flatten(vimg, w)
	}
	return fmt.Errorf("unknown export format %q: want oci, docker or filesystem", opts.Format)
}

// exportOCI writes an OCI layout tar with the image's manifest, config and layers. Unlike linuxkit, the
// index.json descriptor carries the manifest's own media type. It also carries io.containerd.image.name, so that
// importing the tar (into lkpkg or linuxkit) restores the name.
func (c *Cache) exportOCI(img resolvedImage, refName string, w io.Writer) error {
	tw := tar.NewWriter(w)
	epoch := time.Unix(0, 0).UTC()
	writeFile := func(name string, size int64, r io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, ModTime: epoch,
			Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := io.CopyN(tw, r, size)
		return err
	}
	writeBytes := func(name string, b []byte) error {
		return writeFile(name, int64(len(b)), bytes.NewReader(b))
	}
	layoutJSON, _ := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	desc := ocispec.Descriptor{
		MediaType: img.desc.MediaType,
		Digest:    img.desc.Digest,
		Size:      int64(len(img.raw)),
		Platform:  img.desc.Platform,
		Annotations: map[string]string{
			AnnotationRefName:   refName,
			AnnotationImageName: refName,
		},
	}
	indexJSON, err := json.Marshal(newIndex([]ocispec.Descriptor{desc}))
	if err != nil {
		return err
	}
	if err := writeBytes(layoutFile, layoutJSON); err != nil {
		return err
	}
	if err := writeBytes(indexFile, indexJSON); err != nil {
		return err
	}
	for _, dir := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Name: dir, Mode: 0o755, ModTime: epoch, Typeflag: tar.TypeDir,
			Format: tar.FormatPAX}); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	blobs := append([]ocispec.Descriptor{img.manifest.Config}, img.manifest.Layers...)
	blobs = append(blobs, img.desc)
	for _, d := range blobs {
		p := blobsDir + "/" + d.Digest.Algorithm().String() + "/" + d.Digest.Encoded()
		if seen[p] {
			continue
		}
		seen[p] = true
		f, err := c.OpenBlob(d.Digest)
		if err != nil {
			return err
		}
		fi, err := f.Stat()
		if err == nil {
			err = writeFile(p, fi.Size(), f)
		}
		f.Close()
		if err != nil {
			return fmt.Errorf("export blob %s: %w", d.Digest, err)
		}
	}
	return tw.Close()
}
