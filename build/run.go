package build

import (
	"context"
	"errors"
	"fmt"

	"github.com/distribution/reference"

	"github.com/lkpkg/lkpkg/frontend"
	"github.com/lkpkg/lkpkg/registry"
	"github.com/lkpkg/lkpkg/snapshot"
)

// Request is one `pkg build` invocation over several package directories.
type Request struct {
	Dirs  []string
	Load  frontend.Options      // identity flags (org, tag, hash …)
	Plan  frontend.BuildOptions // what to build (platforms, Dockerfile, build args …)
	Print func(p *frontend.Package, r *Result)
	Push  *PushRequest // push after building (pkg build --push, pkg push); nil builds only
}

// PushRequest is what `pkg build --push` adds to a build.
type PushRequest struct {
	Pusher   *registry.Pusher
	ArchTags bool   // also push <tag>-<arch> tags (--manifest)
	Release  string // also push the package as <org>/<image>:<Release>, never replacing an existing one
	// ReleaseFromGitTag takes each package's release from the one git tag on its repository's HEAD.
	ReleaseFromGitTag bool
	NoBuild           bool // push what the cache holds without building
	// Signer, when set, signs each pushed index and its platform images (cosign-compatible, offline).
	Signer *registry.Signer
	// DisableContentTrust skips signing for every package (--disable-content-trust); build.yml's
	// disable-content-trust does it for one.
	DisableContentTrust bool
}

// Run resolves every package first (so a typo in the last one fails before anything is built, as in linuxkit),
// then plans them, opens the containers-storage store if one is wanted (so an unwritable one fails before anything
// is built), and builds them, independent packages concurrently.
func (b *Builder) Run(ctx context.Context, req Request) error {
	if req.Load.HashCommit != "" && req.Load.HashCommit != "HEAD" {
		return fmt.Errorf("cannot build from --hash-commit %s: builds use the work tree, so only HEAD is allowed", req.Load.HashCommit)
	}
	loader := frontend.NewLoader(req.Load)
	defer loader.Close()
	pkgs := make([]*frontend.Package, 0, len(req.Dirs))
	for _, dir := range req.Dirs {
		p, err := loader.Load(dir)
		if err != nil {
			return err
		}
		pkgs = append(pkgs, p)
	}
	plans := make([]*frontend.BuildPlan, 0, len(pkgs))
	for _, p := range pkgs {
		plan, err := loader.Plan(p, req.Plan)
		if err != nil {
			return fmt.Errorf("%s: %w", p.Tag(), err)
		}
		plans = append(plans, plan)
	}
	releases, err := releases(loader, pkgs, req.Push)
	if err != nil {
		return err
	}
	if err := b.OpenStore(); err != nil {
		return err
	}
	results := make([]*Result, len(plans))
	if req.Push == nil || !req.Push.NoBuild {
		if err := b.resolveHistories(plans); err != nil {
			return err
		}
		b.opts.Registry.CAHosts = append(b.opts.Registry.CAHosts, registryHosts(plans)...)
		if err := b.connectBuilders(ctx, plans); err != nil {
			return err
		}
		var err error
		if results, err = b.buildAll(ctx, plans); err != nil {
			return err
		}
	}
	for i, plan := range plans {
		if err := b.loadIntoDocker(ctx, plan); err != nil {
			return err
		}
		if req.Push != nil && !b.opts.DryRun {
			if err := b.push(ctx, plan, req.Push, releases[i]); err != nil {
				return err
			}
		}
		if req.Print != nil {
			req.Print(plan.Package, results[i])
		}
	}
	return nil
}

// resolveHistories completes the plans of the packages that will be built with what needs their git history
// (their FROM lines, read next to order the builds, may use those build args); a package whose every platform is
// cached is not built, so it never asks git for its history.
func (b *Builder) resolveHistories(plans []*frontend.BuildPlan) error {
	for _, plan := range plans {
		todo, _, err := b.missing(plan)
		if err != nil {
			return err
		}
		if len(todo) == 0 {
			continue
		}
		if err := plan.ResolveHistory(); err != nil {
			return fmt.Errorf("%s: %w", plan.Package.Tag(), err)
		}
	}
	return nil
}

// releases is each package's release tag: --release for all, or its repository's tag with --release-from-git-tag.
func releases(loader *frontend.Loader, pkgs []*frontend.Package, req *PushRequest) ([]string, error) {
	out := make([]string, len(pkgs))
	if req == nil {
		return out, nil
	}
	for i, p := range pkgs {
		out[i] = req.Release
		if req.ReleaseFromGitTag {
			tag, err := loader.ReleaseFromGitTag(p)
			if err != nil {
				return nil, err
			}
			out[i] = tag
		}
	}
	return out, nil
}

// push pushes a built (or, with NoBuild, cached) package and its release tag, with linuxkit's messages and rules:
// a dirty package is never pushed, a release tag is never overwritten.
func (b *Builder) push(ctx context.Context, plan *frontend.BuildPlan, req *PushRequest, release string) error {
	pkg := plan.Package
	if len(plan.Platforms) == 0 {
		return nil
	}
	if req.NoBuild {
		fmt.Fprintf(b.opts.Log, "Pushing %q without building\n", pkg.Tag())
	}
	if pkg.Dirty {
		return fmt.Errorf("%s: build complete, refusing to push dirty package", pkg.Tag())
	}
	tag := pkg.FullTag()
	root, err := b.cache.FindRoot(tag)
	if errors.Is(err, snapshot.ErrNotFound) {
		if release != "" {
			return fmt.Errorf("cannot release %s as %s: it is not in the cache (build it first)", pkg.Tag(), release)
		}
		fmt.Fprintf(b.opts.Log, "%s: No new platforms to push, skipping.\n", pkg.Tag())
		return nil
	}
	if err != nil {
		return err
	}
	if err := req.Pusher.Push(ctx, b.cache, tag, registry.PushOptions{ArchTags: req.ArchTags, Override: true}); err != nil {
		return fmt.Errorf("pushing %s: %w", pkg.Tag(), err)
	}
	pushed, err := b.sign(ctx, pkg, req, tag)
	if err != nil {
		return err
	}
	if release == "" {
		fmt.Fprintf(b.opts.Log, "Build and push of %q complete\n", pkg.Tag())
		return nil
	}
	relTag, err := pkg.ReleaseTag(release)
	if err != nil {
		return err
	}
	fullRel := frontend.ExpandReference(relTag)
	if err := b.cache.DescriptorWrite(fullRel, root); err != nil {
		return err
	}
	if err := req.Pusher.Push(ctx, b.cache, fullRel, registry.PushOptions{ArchTags: req.ArchTags}); err != nil {
		return fmt.Errorf("pushing release %s: %w", relTag, err)
	}
	if _, err := b.sign(ctx, pkg, req, fullRel, root.Digest.String(), pushed); err != nil {
		return err
	}
	fmt.Fprintf(b.opts.Log, "Build, push and release of %q complete\n", relTag)
	return nil
}

// sign signs what ref names in the registry once it is pushed, unless signing is off for the package, and returns
// the digest signed. Digests already signed with the key are left alone, so re-pushing an unchanged package adds
// no signature. With onlyDigests, ref is signed only if it names one of them (a release tag that already existed
// was not overwritten, so it may name something else).
func (b *Builder) sign(ctx context.Context, pkg *frontend.Package, req *PushRequest, ref string, onlyDigests ...string) (string, error) {
	if req.Signer == nil {
		return "", nil
	}
	if req.DisableContentTrust || pkg.Spec.DisableContentTrust {
		fmt.Fprintf(b.opts.Log, "%s: content trust disabled, not signing\n", ref)
		return "", nil
	}
	if onlyDigests != nil {
		return "", wrapSign(pkg, req.Signer.SignIfDigest(ctx, ref, onlyDigests...))
	}
	d, err := req.Signer.Sign(ctx, ref)
	return d, wrapSign(pkg, err)
}

func wrapSign(pkg *frontend.Package, err error) error {
	if err != nil {
		return fmt.Errorf("signing %s: %w", pkg.Tag(), err)
	}
	return nil
}

// buildAll builds independent packages concurrently (up to Options.Concurrency at once) in the one engine; a
// package whose FROM names another package of the run waits for it, so chained builds see their base.
func (b *Builder) buildAll(ctx context.Context, plans []*frontend.BuildPlan) ([]*Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	deps := dependencies(plans)
	results := make([]*Result, len(plans))
	errs := make([]error, len(plans))
	done := make([]chan struct{}, len(plans))
	for i := range done {
		done[i] = make(chan struct{})
	}
	slots := make(chan struct{}, max(1, b.opts.Concurrency))
	for i, plan := range plans {
		go func() {
			defer close(done[i])
			for _, d := range deps[i] {
				<-done[d]
				if errs[d] != nil {
					errs[i] = fmt.Errorf("not built: %s, which it is built FROM, failed", plans[d].Package.Tag())
					return
				}
			}
			slots <- struct{}{}
			defer func() { <-slots }()
			pctx := ctx
			if cap(slots) > 1 && len(plans) > 1 {
				pctx = withProgressPrefix(ctx, plan.Package.Image)
			}
			if results[i], errs[i] = b.Build(pctx, plan); errs[i] != nil {
				errs[i] = fmt.Errorf("error building %q: %w", plan.Package.Tag(), errs[i])
				cancel()
			}
		}()
	}
	for i := range done {
		<-done[i]
	}
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, err
		}
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return results, nil
}

// dependencies lists, for each plan, the earlier-or-later plans whose image it is built FROM.
func dependencies(plans []*frontend.BuildPlan) [][]int {
	byTag := map[string]int{}
	for i, p := range plans {
		byTag[p.Package.FullTag()] = i
	}
	deps := make([][]int, len(plans))
	for i, p := range plans {
		df, err := frontend.ReadDockerfile(p)
		if err != nil {
			continue // Build reports it
		}
		images, err := df.BaseImages(p.BuildArgs)
		if err != nil {
			continue
		}
		for _, img := range images {
			if j, ok := byTag[frontend.ExpandReferenceWithTag(img)]; ok && j != i {
				deps[i] = append(deps[i], j)
			}
		}
	}
	return deps
}

// registryHosts are the registries the plans' FROM images live on, which --cert-file CAs apply to.
func registryHosts(plans []*frontend.BuildPlan) []string {
	var hosts []string
	for _, plan := range plans {
		df, err := frontend.ReadDockerfile(plan)
		if err != nil {
			continue // the build itself reports it
		}
		images, err := df.BaseImages(plan.BuildArgs)
		if err != nil {
			continue
		}
		for _, img := range images {
			if named, err := reference.ParseNormalizedNamed(img); err == nil {
				hosts = append(hosts, reference.Domain(named))
			}
		}
	}
	return hosts
}

// loadIntoDocker loads each platform's image as <FullTag>-<arch>, the host's also as <FullTag>, as linuxkit's
// --docker does.
func (b *Builder) loadIntoDocker(ctx context.Context, plan *frontend.BuildPlan) error {
	if b.opts.Docker == nil || len(plan.Platforms) == 0 {
		return nil
	}
	var images []snapshot.DockerImage
	tag := plan.Package.FullTag()
	for _, pl := range plan.Platforms {
		p, err := snapshot.ParsePlatform(pl)
		if err != nil {
			return err
		}
		name := tag + "-" + p.Architecture
		img := snapshot.DockerImage{CacheName: name, Platform: p, Tags: []string{name}}
		if pl == frontend.HostPlatform() {
			img.Tags = append(img.Tags, tag)
		}
		images = append(images, img)
	}
	if err := b.opts.Docker.Load(ctx, b.cache, images); err != nil {
		return fmt.Errorf("%s: %w", plan.Package.Tag(), err)
	}
	fmt.Fprintf(b.opts.Log, "Loaded %s into Docker at %s\n", plan.Package.Tag(), b.opts.Docker.Host)
	return nil
}
