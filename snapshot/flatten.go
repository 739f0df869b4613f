package snapshot

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// flatten writes the root filesystem of img as one tar, applying the OCI whiteout rules (image-spec layer.md):
// `.wh.<name>` removes <name> of lower layers, `.wh..wh..opq` hides every lower-layer entry inside its directory,
// and an entry of an upper layer replaces the same path below (a non-directory also hides a lower directory's
// contents). ggcr's mutate.Extract ignores opaque whiteouts, so lkpkg has its own.
//
// Layers are read top-down, so each path is written once, from the highest layer that has it.
func flatten(img v1.Image, w io.Writer) error {
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	seen := map[string]bool{}   // paths decided by an upper layer (written or whited out)
	hidden := map[string]bool{} // paths whose lower-layer contents are gone (whited out, or replaced by a non-directory)
	opaque := map[string]bool{} // directories whose lower-layer contents are gone
	for i := len(layers) - 1; i >= 0; i-- {
		var opaqueHere []string
		if err := eachEntry(layers[i], func(hdr *tar.Header, r io.Reader) error {
			name := cleanEntryName(hdr.Name)
			if name == "" || underAny(name, hidden) || underAny(name, opaque) {
				return nil
			}
			dir, base := path.Dir(name), path.Base(name)
			if base == whiteoutOpaque {
				opaqueHere = append(opaqueHere, dir)
				return nil
			}
			if strings.HasPrefix(base, whiteoutPrefix) {
				target := path.Join(dir, strings.TrimPrefix(base, whiteoutPrefix))
				if !seen[target] {
					seen[target], hidden[target] = true, true
				}
				return nil
			}
			if seen[name] {
				return nil
			}
			seen[name] = true
			if hdr.Typeflag != tar.TypeDir {
				hidden[name] = true
			}
			out := *hdr
			out.Name = name
			if hdr.Typeflag == tar.TypeDir {
				out.Name += "/"
			}
			out.Format = tar.FormatPAX // no USTAR name length limit
			if err := tw.WriteHeader(&out); err != nil {
				return err
			}
			if hdr.Typeflag == tar.TypeReg {
				if _, err := io.CopyN(tw, r, hdr.Size); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
		for _, d := range opaqueHere {
			opaque[d] = true
		}
	}
	return tw.Close()
}

// eachEntry calls fn for every entry of the uncompressed layer, then reads the layer to its end so that ggcr
// verifies its digest.
func eachEntry(layer v1.Layer, fn func(*tar.Header, io.Reader) error) error {
	rc, err := layer.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if err := fn(hdr, tr); err != nil {
			return err
		}
	}
	_, err = io.Copy(io.Discard, rc)
	return err
}

// cleanEntryName makes "./a/b/", "/a/b" and "a/b" the same path "a/b"; the root itself is "".
func cleanEntryName(name string) string {
	name = strings.TrimPrefix(path.Clean("/"+name), "/")
	return name
}

// underAny reports whether a proper ancestor of name is in set.
func underAny(name string, set map[string]bool) bool {
	for p := path.Dir(name); p != "." && p != "/"; p = path.Dir(p) {
		if set[p] {
			return true
		}
	}
	return false
}
