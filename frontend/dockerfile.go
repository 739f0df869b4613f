package frontend

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// Dockerfile is a package's Dockerfile as read for planning: the images its stages start from.
type Dockerfile struct {
	Path string // absolute, for messages
	Data []byte
}

// ReadDockerfile reads the plan's Dockerfile and refuses a `# syntax=` directive: it would make BuildKit load a
// frontend image, a network fetch outside build.yml's policy and outside the air-gapped guarantee.
func ReadDockerfile(plan *BuildPlan) (*Dockerfile, error) {
	p := filepath.Join(plan.ContextDir, filepath.FromSlash(plan.Dockerfile))
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("reading Dockerfile: %w", err)
	}
	if syntax, _, loc, ok := parser.DetectSyntax(data); ok {
		line := 1
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		return nil, fmt.Errorf("%s:%d: `# syntax=%s` would load a Dockerfile frontend image, which lkpkg refuses "+
			"(builds must not fetch code outside build.yml's network policy); remove the line: lkpkg's built-in "+
			"Dockerfile frontend supports the current syntax", p, line, syntax)
	}
	return &Dockerfile{Path: p, Data: data}, nil
}

// Images lists every image the Dockerfile names, after expanding ARGs with buildArgs, in order of appearance and
// without duplicates: the images stages start FROM, and those BuildKit turns into implicit stages, named by
// `COPY --from=<image>` and `RUN --mount=from=<image>` (bind and cache mounts). `scratch` and the names of stages
// are left out (a FROM may only name an earlier stage; --from may name any). Each is returned as written
// (expanded).
func (d *Dockerfile) Images(buildArgs map[string]string) ([]string, error) {
	res, err := parser.Parse(bytes.NewReader(d.Data))
	if err != nil {
		return nil, d.located(err)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, d.located(err)
	}
	env := globalArgs(metaArgs, buildArgs)
	lex := shell.NewLex(res.EscapeToken)
	allStages := map[string]bool{}
	for _, st := range stages {
		if st.Name != "" {
			allStages[strings.ToLower(st.Name)] = true
		}
	}
	earlier := map[string]bool{}
	var images []string
	for _, st := range stages {
		name, _, err := lex.ProcessWord(st.BaseName, shell.EnvsFromSlice(env))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: FROM %s: %w", d.Path, line(st.Location), st.BaseName, err)
		}
		if name == "" {
			return nil, fmt.Errorf("%s:%d: FROM %s expands to an empty name: set the build arg it uses", d.Path, line(st.Location), st.BaseName)
		}
		if !earlier[strings.ToLower(name)] && name != "scratch" {
			images = appendUnique(images, name)
		}
		if st.Name != "" {
			earlier[strings.ToLower(st.Name)] = true
		}
		for _, from := range implicitStages(st.Commands) {
			if !allStages[strings.ToLower(from)] && from != "scratch" {
				images = appendUnique(images, from)
			}
		}
	}
	return images, nil
}

// implicitStages are the --from values of a stage's COPY and RUN --mount that are not stage indexes: BuildKit
// refuses variables in them, so they are taken as written.
func implicitStages(cmds []instructions.Command) []string {
	var from []string
	for _, cmd := range cmds {
		switch c := cmd.(type) {
		case *instructions.CopyCommand:
			if _, err := strconv.Atoi(c.From); c.From != "" && err != nil {
				from = append(from, c.From)
			}
		case *instructions.RunCommand:
			for _, m := range instructions.GetMounts(c) {
				if m.From != "" {
					from = append(from, m.From)
				}
			}
		}
	}
	return from
}

func line(locs []parser.Range) int {
	if len(locs) == 0 {
		return 1
	}
	return locs[0].Start.Line
}

// lineInMessageRE is the "dockerfile parse error on line N: " BuildKit's parser starts its messages with.
var lineInMessageRE = lazyRegexp(`^dockerfile parse error on line \d+: `)

// located prefixes a parse error with "<path>:<line>: " (the form editors jump to, as for every other Dockerfile
// and build.yml error) when the parser says where it is.
func (d *Dockerfile) located(err error) error {
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		msg := lineInMessageRE().ReplaceAllString(err.Error(), "")
		return fmt.Errorf("%s:%d: %s", d.Path, le.Locations[0][0].Start.Line, msg)
	}
	return fmt.Errorf("%s: %w", d.Path, err)
}

// globalArgs are the ARGs declared before the first FROM, with build args overriding their defaults, as
// KEY=VALUE. Only declared ARGs are visible to FROM, as in BuildKit.
func globalArgs(metaArgs []instructions.ArgCommand, buildArgs map[string]string) []string {
	var env []string
	lex := shell.NewLex('\\')
	for _, cmd := range metaArgs {
		for _, kv := range cmd.Args {
			v, given := buildArgs[kv.Key]
			if !given && kv.Value != nil {
				v, _, _ = lex.ProcessWord(*kv.Value, shell.EnvsFromSlice(env))
			}
			if given || kv.Value != nil {
				env = append(env, kv.Key+"="+v)
			}
		}
	}
	return env
}
