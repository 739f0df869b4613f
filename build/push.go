package build

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/lkpkg/lkpkg/frontend"
	"github.com/lkpkg/lkpkg/registry"
	"github.com/lkpkg/lkpkg/snapshot"
)

// PushOutput pushes each package to its registry (`pkg build --push`, `pkg push`), with linuxkit's messages and
// rules: a dirty package is never pushed, a release tag is never overwritten.
type PushOutput struct {
	Pusher   *registry.Pusher
	ArchTags bool   // also push <tag>-<arch> tags (--manifest)
	Release  string // also push the package as <org>/<image>:<Release>, never replacing an existing one
	// ReleaseFromGitTag takes each package's release from the one git tag on its repository's HEAD.
	ReleaseFromGitTag bool
	NoBuild           bool // the run pushes what the cache holds without building
	// Signer, when set, signs each pushed index and its platform images (cosign-compatible, offline).
	Signer *registry.Signer
	// DisableContentTrust skips signing for every package (--disable-content-trust); build.yml's
	// disable-content-trust does it for one.
	DisableContentTrust bool
	Log                 io.Writer

	releases map[*frontend.Package]string // filled by Prepare
}

// Prepare finds each package's release tag (--release for all, or its repository's tag with
// --release-from-git-tag), so that a repository without exactly one tag on HEAD fails before anything is built.
func (o *PushOutput) Prepare(loader *frontend.Loader, plans []*frontend.BuildPlan) error {
	o.releases = map[*frontend.Package]string{}
	for _, plan := range plans {
		release := o.Release
		if o.ReleaseFromGitTag {
			tag, err := loader.ReleaseFromGitTag(plan.Package)
			if err != nil {
				return err
			}
			release = tag
		}
		o.releases[plan.Package] = release
	}
	return nil
}

// Publish pushes a built (or, with NoBuild, cached) package and its release tag.
func (o *PushOutput) Publish(ctx context.Context, cache *snapshot.Cache, plan *frontend.BuildPlan) error {
	pkg := plan.Package
	if len(plan.Platforms) == 0 {
		return nil
	}
	if o.NoBuild {
		fmt.Fprintf(o.Log, "Pushing %q without building\n", pkg.Tag())
	}
	if pkg.Dirty {
		return fmt.Errorf("%s: build complete, refusing to push dirty package", pkg.Tag())
	}
	release := o.releases[pkg]
	tag := pkg.FullTag()
	root, err := cache.FindRoot(tag)
	if errors.Is(err, snapshot.ErrNotFound) {
		if release != "" {
			return fmt.Errorf("cannot release %s as %s: it is not in the cache (build it first)", pkg.Tag(), release)
		}
		fmt.Fprintf(o.Log, "%s: No new platforms to push, skipping.\n", pkg.Tag())
		return nil
	}
	if err != nil {
		return err
	}
	if err := o.Pusher.Push(ctx, cache, tag, registry.PushOptions{ArchTags: o.ArchTags, Override: true}); err != nil {
		return fmt.Errorf("pushing %s: %w", pkg.Tag(), err)
	}
	pushed, err := o.sign(ctx, pkg, tag)
	if err != nil {
		return err
	}
	if release == "" {
		fmt.Fprintf(o.Log, "Build and push of %q complete\n", pkg.Tag())
		return nil
	}
	relTag, err := pkg.ReleaseTag(release)
	if err != nil {
		return err
	}
	fullRel := frontend.ExpandReference(relTag)
	if err := cache.DescriptorWrite(fullRel, root); err != nil {
		return err
	}
	if err := o.Pusher.Push(ctx, cache, fullRel, registry.PushOptions{ArchTags: o.ArchTags}); err != nil {
		return fmt.Errorf("pushing release %s: %w", relTag, err)
	}
	if _, err := o.sign(ctx, pkg, fullRel, root.Digest.String(), pushed); err != nil {
		return err
	}
	fmt.Fprintf(o.Log, "Build, push and release of %q complete\n", relTag)
	return nil
}

func (o *PushOutput) Close() error { return nil }

// ReadsCache is true for a package with a release tag, which is made from the cache's entry.
func (o *PushOutput) ReadsCache(plan *frontend.BuildPlan) bool { return o.releases[plan.Package] != "" }

// sign signs what ref names in the registry once it is pushed, unless signing is off for the package, and returns
// the digest signed. Digests already signed with the key are left alone, so re-pushing an unchanged package adds
// no signature. With onlyDigests, ref is signed only if it names one of them (a release tag that already existed
// was not overwritten, so it may name something else).
func (o *PushOutput) sign(ctx context.Context, pkg *frontend.Package, ref string, onlyDigests ...string) (string, error) {
	if o.Signer == nil {
		return "", nil
	}
	if o.DisableContentTrust || pkg.Spec.DisableContentTrust {
		fmt.Fprintf(o.Log, "%s: content trust disabled, not signing\n", ref)
		return "", nil
	}
	if onlyDigests != nil {
		return "", wrapSign(pkg, o.Signer.SignIfDigest(ctx, ref, onlyDigests...))
	}
	d, err := o.Signer.Sign(ctx, ref)
	return d, wrapSign(pkg, err)
}

func wrapSign(pkg *frontend.Package, err error) error {
	if err != nil {
		return fmt.Errorf("signing %s: %w", pkg.Tag(), err)
	}
	return nil
}
