package build

import (
	"context"
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
}

// Run resolves every package first (so a typo in the last one fails before anything is built, as in linuxkit),
// then plans and builds them in order.
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
	b.opts.Registry.CAHosts = append(b.opts.Registry.CAHosts, registryHosts(plans)...)
	for _, plan := range plans {
		res, err := b.Build(ctx, plan)
		if err != nil {
			return fmt.Errorf("error building %q: %w", plan.Package.Tag(), err)
		}
		if req.Print != nil {
			req.Print(plan.Package, res)
		}
	}
	return nil
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
