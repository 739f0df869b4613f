package frontend

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
)

// ExtraSource is one `src:dst` entry of extra-sources: a directory outside the package copied into the build
// context at dst and hashed into the tag.
type ExtraSource struct {
	Src string // absolute path on disk
	Dst string // clean slash path relative to the build context root; "." is the root
}

// Validate applies the checks that need the package directory: path fields stay inside the package (checked
// path-wise, with symlinks resolved), depends images are digest-pinned, extra-sources are well formed.
// It returns the parsed extra sources and the full list of depends images (list or from-file).
func (p *ParsedSpec) Validate(pkgDir string) (extras []ExtraSource, dependsImages []string, err error) {
	if _, err := p.subPath(pkgDir, "dockerfile", p.Dockerfile, false); err != nil {
		return nil, nil, err
	}
	if extras, err = p.extraSources(pkgDir); err != nil {
		return nil, nil, err
	}
	if dependsImages, err = p.dependsImages(pkgDir); err != nil {
		return nil, nil, err
	}
	return extras, dependsImages, nil
}

// subPath resolves rel inside pkgDir and refuses absolute paths, `..` escapes and symlinks that lead outside.
// The package directory itself is refused when notSelf is set.
func (p *ParsedSpec) subPath(pkgDir, field, rel string, notSelf bool) (string, error) {
	abs, err := SubPath(pkgDir, rel)
	switch {
	case errors.Is(err, errAbsolute):
		return "", p.errorf(field, "%q must be relative to the package directory", rel)
	case errors.Is(err, errEscapes):
		return "", p.errorf(field, "%q must be within the package directory", rel)
	case err != nil:
		return "", p.errorf(field, "%v", err)
	}
	if notSelf && filepath.Clean(rel) == "." {
		return "", p.errorf(field, "%q must not be exactly the package directory: name a file or subdirectory", rel)
	}
	return abs, nil
}

var (
	errAbsolute = errors.New("absolute path")
	errEscapes  = errors.New("path escapes the package directory")
)

// SubPath joins rel onto dir and checks, path-wise rather than by string prefix, that the result stays inside
// dir even after following symlinks in the part of the path that exists.
func SubPath(dir, rel string) (string, error) {
	if filepath.IsAbs(rel) {
		return "", errAbsolute
	}
	clean := filepath.Clean(rel)
	if clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", errEscapes
	}
	joined := filepath.Join(dir, clean)
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("package directory %s: %w", dir, err)
	}
	real, err := evalExisting(joined)
	if err != nil {
		return "", err
	}
	if !within(realDir, real) {
		return "", errEscapes
	}
	return joined, nil
}

// evalExisting resolves symlinks in the longest existing prefix of path and appends the rest unchanged.
func evalExisting(path string) (string, error) {
	rest := ""
	for cur := path; ; cur = filepath.Dir(cur) {
		real, err := filepath.EvalSymlinks(cur)
		if err == nil {
			return filepath.Join(real, rest), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		if filepath.Dir(cur) == cur {
			return path, nil
		}
		rest = filepath.Join(filepath.Base(cur), rest)
	}
}

// within reports whether path is dir or below it.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	if err != nil {
		return false
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)))
}

func (p *ParsedSpec) extraSources(pkgDir string) ([]ExtraSource, error) {
	var out []ExtraSource
	for i, entry := range p.ExtraSources {
		field := fmt.Sprintf("extra-sources[%d]", i)
		parts := strings.Split(entry, ":")
		if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
			return nil, p.errorf(field, "%q is not `src:dst` (exactly one colon, both sides non-empty)", entry)
		}
		src := parts[0]
		if !filepath.IsAbs(src) {
			src = filepath.Join(pkgDir, src)
		}
		if st, err := os.Stat(src); err != nil || !st.IsDir() {
			return nil, p.errorf(field, "source %s is not a directory", src)
		}
		dst, ok := contextPath(parts[1])
		if !ok {
			return nil, p.errorf(field, "destination %q escapes the build context: name a directory inside it "+
				"(/ or . is its root)", parts[1])
		}
		out = append(out, ExtraSource{Src: filepath.Clean(src), Dst: dst})
	}
	return out, nil
}

// contextPath turns an extra source's destination into a clean slash path relative to the build context root.
// As in linuxkit, whose context tar names every entry below "/", a leading / names the context root, so
// "/common" and "common" are one place and "/" is the root itself ("."). A ".." that climbs above the root, at
// any point of the path, is refused rather than clamped.
func contextPath(dst string) (string, bool) {
	depth := 0
	for _, part := range strings.Split(filepath.ToSlash(dst), "/") {
		switch part {
		case "", ".":
		case "..":
			if depth--; depth < 0 {
				return "", false
			}
		default:
			depth++
		}
	}
	rel := strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(dst)), "/")
	if rel == "" {
		rel = "."
	}
	return rel, true
}

func (p *ParsedSpec) dependsImages(pkgDir string) ([]string, error) {
	d := p.Depends.DockerImages
	if d.Target != "" && d.TargetDir != "" {
		return nil, p.errorf("depends.docker-images", `"target" and "target-dir" are mutually exclusive: keep one`)
	}
	if d.FromFile != "" && len(d.List) > 0 {
		return nil, p.errorf("depends.docker-images", `"list" and "from-file" are mutually exclusive: keep one`)
	}
	for _, f := range []struct{ name, val string }{
		{"depends.docker-images.target", d.Target},
		{"depends.docker-images.target-dir", d.TargetDir},
		{"depends.docker-images.from-file", d.FromFile},
	} {
		if f.val == "" {
			continue
		}
		if _, err := p.subPath(pkgDir, f.name, f.val, true); err != nil {
			return nil, err
		}
	}
	images := d.List
	field := "depends.docker-images.list"
	if d.FromFile != "" {
		field = "depends.docker-images.from-file"
		var err error
		if images, err = readImageList(filepath.Join(pkgDir, d.FromFile)); err != nil {
			return nil, p.errorf(field, "%v", err)
		}
	}
	for i, img := range images {
		if err := CheckPinnedImage(img); err != nil {
			return nil, p.errorf(fmt.Sprintf("%s[%d]", field, i), "%v", err)
		}
	}
	return images, nil
}

// readImageList reads a depends from-file: one image a line; blank lines and lines starting with # are skipped.
func readImageList(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read image list: %w", err)
	}
	var images []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		images = append(images, line)
	}
	return images, sc.Err()
}

// CheckPinnedImage accepts only a valid image reference that carries a valid digest.
func CheckPinnedImage(img string) error {
	at := strings.LastIndex(img, "@")
	if at < 0 {
		return fmt.Errorf("image %q lacks a digest: pin it as name@sha256:<hex>", img)
	}
	if err := digest.Digest(img[at+1:]).Validate(); err != nil {
		return fmt.Errorf("unable to validate digest in %q: %w", img, err)
	}
	if _, err := reference.ParseNormalizedNamed(img); err != nil {
		return fmt.Errorf("image %q is not a valid reference: %w", img, err)
	}
	return nil
}
