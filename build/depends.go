package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/lkpkg/lkpkg/frontend"
	"github.com/lkpkg/lkpkg/snapshot"
)

// writeDepends writes build.yml's depends.docker-images for platform into the package directory, before the
// solve that uploads it as part of the context: one archive per image in target-dir, or all in target.
// Images come from the linuxkit cache, for the architecture being built (linuxkit takes the host's).
func (b *Builder) writeDepends(ctx context.Context, plan *frontend.BuildPlan, platform string) error {
	d := plan.Package.Spec.Depends.DockerImages
	images := plan.Package.DependsImages
	if len(images) == 0 || (d.Target == "" && d.TargetDir == "") {
		return nil
	}
	p, err := snapshot.ParsePlatform(platform)
	if err != nil {
		return err
	}
	var all []snapshot.ArchiveImage
	for _, ref := range images {
		fmt.Fprintf(b.opts.Log, "Adding %q as dependency\n", ref)
		img := snapshot.ArchiveImage{Ref: ref, Digest: digest.Digest(ref[strings.LastIndex(ref, "@")+1:]), Platform: p}
		if err := b.ensureInCache(ctx, img); err != nil {
			return err
		}
		all = append(all, img)
	}
	if d.Target != "" {
		target, err := frontend.SubPath(plan.ContextDir, d.Target)
		if err != nil {
			return fmt.Errorf("depends.docker-images.target %q: %w", d.Target, err)
		}
		// SubPath has checked, symlinks resolved, that the missing directories would be inside the package.
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return fmt.Errorf("depends.docker-images.target %q: %w", d.Target, err)
		}
		return b.writeArchive(target, all)
	}
	dir, err := frontend.SubPath(plan.ContextDir, d.TargetDir)
	if err != nil {
		return fmt.Errorf("depends.docker-images.target-dir %q: %w", d.TargetDir, err)
	}
	// A stale target-dir is replaced whole; SubPath has just checked, symlinks resolved, that it is inside the
	// package, and RemoveAll does not follow a symlink at dir itself.
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("depends.docker-images.target-dir %q: replacing it: %w", d.TargetDir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("depends.docker-images.target-dir %q: %w", d.TargetDir, err)
	}
	for _, img := range all {
		name := path.Base(strings.SplitN(img.Ref, "@", 2)[0])
		name, _, _ = strings.Cut(name, ":")
		file := filepath.Join(dir, fmt.Sprintf("%s@%s:%s.tar", name, img.Digest.Algorithm(), img.Digest.Encoded()))
		if err := b.writeArchive(file, []snapshot.ArchiveImage{img}); err != nil {
			return err
		}
	}
	return nil
}

// ensureInCache fetches a depends image the cache lacks from its registry (named by its digest reference there),
// so later builds and air-gapped machines with a copied cache find it.
func (b *Builder) ensureInCache(ctx context.Context, img snapshot.ArchiveImage) error {
	if b.cache.HasBlob(img.Digest) || b.opts.Puller == nil {
		return nil
	}
	full := frontend.ExpandReference(img.Ref)
	if _, err := b.opts.Puller.Pull(ctx, b.cache, full, full); err != nil {
		return fmt.Errorf("depends: %s is neither in the linuxkit cache nor obtainable from its registry: %w", img.Ref, err)
	}
	return nil
}

func (b *Builder) writeArchive(file string, images []snapshot.ArchiveImage) error {
	err := snapshot.WriteFileAtomic(file, 0o644, func(w io.Writer) error { return b.cache.WriteDockerArchive(w, images) })
	if errors.Is(err, snapshot.ErrNotFound) {
		return fmt.Errorf("depends: %w: put it there with `lkpkg cache import` or `lkpkg cache pull`", err)
	}
	if err != nil {
		return fmt.Errorf("depends: writing %s: %w", file, err)
	}
	return nil
}
