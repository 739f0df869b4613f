package build

import (
	"context"
	"errors"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/lkpkg/lkpkg/executor"
	"github.com/lkpkg/lkpkg/frontend"
)

// Solver runs one solve and exports its result through the request's OutputStore: the seam between a
// package's build and where it runs. The in-process engine (executor.Engine) and a BuildKit builder reached with
// the stock client (executor.Remote) are the two; both take the same request, so policy and results are the same
// wherever a platform is built.
type Solver interface {
	Solve(ctx context.Context, req executor.SolveRequest) (*executor.SolveResult, error)
}

var (
	_ Solver = (*executor.Engine)(nil)
	_ Solver = (*executor.Local)(nil)
	_ Solver = (*executor.Remote)(nil)
)

// solve is solveOnce, tried again when the state dir's engine was another lkpkg's and that lkpkg exited during the
// solve: the engine is then taken over (or reached through whichever lkpkg took it), and BuildKit's cache in the
// state dir keeps the steps already done. What the failed try imported into the cache is unnamed and harmless.
func (b *Builder) solve(ctx context.Context, solver Solver, plan *frontend.BuildPlan, platform, exportName string, base map[string]string) ([]ocispec.Descriptor, error) {
	local, shared := solver.(*executor.Local)
	for attempt := 1; ; attempt++ {
		var via *executor.Remote
		if shared {
			via = local.Current()
		}
		descs, err := b.solveOnce(ctx, solver, plan, platform, exportName, base)
		if err == nil || via == nil || attempt == 3 || !errors.Is(err, executor.ErrEngineGone) || ctx.Err() != nil {
			return descs, err
		}
		if rerr := local.Reconnect(ctx, via); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
	}
}
