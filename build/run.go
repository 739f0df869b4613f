package build

import (
	"context"
	"errors"
	"fmt"

	"github.com/distribution/reference"

	"github.com/lkpkg/lkpkg/frontend"
)

// Request is one `pkg build` invocation over several package directories.
type Request struct {
	Dirs  []string
	Load  frontend.Options      // identity flags (org, tag, hash …)
	Plan  frontend.BuildOptions // what to build (platforms, Dockerfile, build args …)
	Print func(p *frontend.Package, r *Result)
	// Outputs receive each package, in the order of Dirs, once every package is in the cache; nil: the cache only.
	Outputs MultiOutput
	NoBuild bool // hand on what the cache holds without building (pkg push --nobuild)
}

// Run resolves every package first (so a typo in the last one fails before anything is built, as in linuxkit),
// plans them, lets the outputs check what they need, builds the packages (independent ones concurrently) and
// then hands each on to the outputs.
func (b *Builder) Run(ctx context.Context, req Request) error {
	loader, plans, err := b.plan(req)
	if err != nil {
		return err
	}
	defer loader.Close()
	if err := req.Outputs.Prepare(loader, plans); err != nil {
		return err
	}
	results := make([]*Result, len(plans))
	if !req.NoBuild {
		if err := b.resolveHistories(ctx, plans); err != nil {
			return err
		}
		b.opts.Registry.CAHosts = append(b.opts.Registry.CAHosts, registryHosts(plans)...)
		for _, plan := range plans {
			if req.Outputs.ReadsCache(plan) {
				b.needed[plan] = true
			}
		}
		if err := b.connectBuilders(ctx, plans); err != nil {
			return err
		}
		if results, err = b.buildAll(ctx, plans); err != nil {
			return err
		}
	}
	for i, plan := range plans {
		if !b.opts.DryRun {
			if err := req.Outputs.Publish(ctx, b.cache, plan); err != nil {
				return err
			}
		}
		if req.Print != nil {
			req.Print(plan.Package, results[i])
		}
	}
	return nil
}

// plan loads every package of req, then plans each; the caller closes the loader.
func (b *Builder) plan(req Request) (*frontend.Loader, []*frontend.BuildPlan, error) {
	if req.Load.HashCommit != "" && req.Load.HashCommit != "HEAD" {
		return nil, nil, fmt.Errorf("cannot build from --hash-commit %s: builds use the work tree, so only HEAD is allowed", req.Load.HashCommit)
	}
	loader := frontend.NewLoader(req.Load)
	pkgs := make([]*frontend.Package, 0, len(req.Dirs))
	for _, dir := range req.Dirs {
		p, err := loader.Load(dir)
		if err != nil {
			loader.Close()
			return nil, nil, err
		}
		pkgs = append(pkgs, p)
	}
	plans := make([]*frontend.BuildPlan, 0, len(pkgs))
	for _, p := range pkgs {
		plan, err := loader.Plan(p, req.Plan)
		if err != nil {
			loader.Close()
			return nil, nil, fmt.Errorf("%s: %w", p.Tag(), err)
		}
		plans = append(plans, plan)
	}
	return loader, plans, nil
}

// resolveHistories completes the plans of the packages that will be built with what needs their git history
// (their FROM lines, read next to order the builds, may use those build args); a package whose every platform is
// cached is not built, so it never asks git for its history. The first package with something to build starts
// the engine, whose start then overlaps git's history look-ups.
func (b *Builder) resolveHistories(ctx context.Context, plans []*frontend.BuildPlan) error {
	for _, plan := range plans {
		todo, _, err := b.missing(plan)
		if err != nil {
			return err
		}
		if len(todo) == 0 {
			continue
		}
		b.startEngineEarly(ctx, todo)
		if err := plan.ResolveHistory(); err != nil {
			return fmt.Errorf("%s: %w", plan.Package.Tag(), err)
		}
	}
	return nil
}

// buildAll builds independent packages concurrently (up to Options.Concurrency at once) in the one engine; a
// package whose FROM names another package of the run waits for it, so chained builds see their base.
func (b *Builder) buildAll(ctx context.Context, plans []*frontend.BuildPlan) ([]*Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	deps := dependencies(plans)
	for _, ds := range deps {
		for _, d := range ds {
			b.needed[plans[d]] = true // its dependents read it from the cache
		}
	}
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
				errs[i] = explainDiskFull(errs[i], b.writePlaces(), availableSpace)
				if full := (*DiskFullError)(nil); errors.As(errs[i], &full) {
					fmt.Fprintf(b.opts.Debug, "%s ran out of space: %v\n", plan.Package.Tag(), full.Cause)
				}
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

// dependencies lists, for each plan, the earlier-or-later plans whose image its Dockerfile names (FROM,
// COPY --from, RUN --mount=from).
func dependencies(plans []*frontend.BuildPlan) [][]int {
	byTag := map[string]int{}
	for i, p := range plans {
		byTag[p.Package.FullTag()] = i
	}
	deps := make([][]int, len(plans))
	for i, p := range plans {
		images, err := p.Images()
		if err != nil {
			continue // Build reports it
		}
		for _, img := range images {
			if j, ok := byTag[frontend.ExpandReferenceWithTag(img)]; ok && j != i {
				deps[i] = append(deps[i], j)
			}
		}
	}
	return deps
}

// registryHosts are the registries the images the plans' Dockerfiles name live on, which --cert-file CAs apply to.
func registryHosts(plans []*frontend.BuildPlan) []string {
	var hosts []string
	for _, plan := range plans {
		images, err := plan.Images()
		if err != nil {
			continue // the build itself reports it
		}
		for _, img := range images {
			if named, err := reference.ParseNormalizedNamed(img); err == nil {
				hosts = append(hosts, reference.Domain(named))
			}
		}
	}
	return hosts
}
