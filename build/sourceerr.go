package build

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/moby/buildkit/solver/errdefs"

	"github.com/lkpkg/lkpkg/frontend"
)

// dockerfileLine points a failed solve at the Dockerfile line BuildKit blames for it (a RUN that failed, a COPY
// whose source is missing …): it prints the lines around it to log, as `docker build` does, and returns the
// "<path>:<line>: " prefix for the error, or "" when BuildKit named no line of the package's Dockerfile.
func dockerfileLine(log io.Writer, plan *frontend.BuildPlan, err error) string {
	for _, src := range errdefs.Sources(err) {
		if src.Info == nil || len(src.Ranges) == 0 || src.Ranges[0].Start == nil {
			continue
		}
		// The frontend names the source after the Dockerfile it read, relative to the build context.
		path := filepath.Join(plan.ContextDir, filepath.FromSlash(plan.Dockerfile))
		if src.Info.Filename != "" && filepath.Base(src.Info.Filename) != filepath.Base(path) {
			continue
		}
		if src.Print(log) != nil {
			return ""
		}
		return fmt.Sprintf("%s:%d: ", path, src.Ranges[0].Start.Line)
	}
	return ""
}
