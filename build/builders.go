package build

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/lkpkg/lkpkg/executor"
	"github.com/lkpkg/lkpkg/frontend"
	"github.com/lkpkg/lkpkg/snapshot"
)

// BuilderDialTimeout bounds connecting to a builder and asking it for its platforms.
const BuilderDialTimeout = 20 * time.Second

// ParseBuilders parses linuxkit's --builders value, <platform>=<builder>[,…], into builder addresses by platform.
// Each address is checked (scheme, TLS files, connection helper) but not yet dialled.
func ParseBuilders(spec string) (map[string]string, error) {
	builders := map[string]string{}
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return builders, nil
	}
	for _, entry := range splitBuilderEntries(spec) {
		pl, addr, ok := strings.Cut(entry, "=")
		pl, addr = strings.TrimSpace(pl), strings.TrimSpace(addr)
		if !ok || pl == "" || addr == "" {
			return nil, fmt.Errorf("--builders %q: want <platform>=<builder>[,…], e.g. linux/arm64=tcp://arm64-builder:1234", entry)
		}
		p, err := snapshot.ParsePlatform(pl)
		if err != nil {
			return nil, fmt.Errorf("--builders %q: %w", entry, err)
		}
		key := p.OS + "/" + p.Architecture
		if p.Variant != "" {
			key += "/" + p.Variant
		}
		if prev, dup := builders[key]; dup {
			return nil, fmt.Errorf("--builders names two builders for %s (%s and %s): keep one", key, prev, addr)
		}
		if _, _, err := executor.ParseBuilderAddress(addr); err != nil {
			return nil, fmt.Errorf("--builders %s: %w", key, err)
		}
		builders[key] = addr
	}
	return builders, nil
}

// splitBuilderEntries splits at the commas that start a new <platform>=… entry; a comma inside a builder's URL
// (in a query value) stays with it.
func splitBuilderEntries(spec string) []string {
	var entries []string
	for _, part := range strings.Split(spec, ",") {
		head, _, hasEq := strings.Cut(part, "=")
		startsEntry := hasEq && !strings.Contains(head, ":") && !strings.Contains(head, "?") && !strings.Contains(head, "&")
		if startsEntry || len(entries) == 0 {
			entries = append(entries, part)
		} else {
			entries[len(entries)-1] += "," + part
		}
	}
	return entries
}

// connectBuilders dials every builder a platform of the plans is assigned to and checks that it builds that
// platform, so that a wrong address, an unreachable builder, a TLS failure or a missing platform fails the run
// before anything is built.
func (b *Builder) connectBuilders(ctx context.Context, plans []*frontend.BuildPlan) error {
	if len(b.opts.Builders) == 0 || b.opts.DryRun {
		return nil
	}
	wanted := map[string][]string{} // address → platforms
	for _, plan := range plans {
		for _, pl := range plan.Platforms {
			if addr, ok := b.opts.Builders[pl]; ok && !containsPlatform(wanted[addr], pl) {
				wanted[addr] = append(wanted[addr], pl)
			}
		}
	}
	addrs := make([]string, 0, len(wanted))
	for addr := range wanted {
		addrs = append(addrs, addr)
	}
	sort.Strings(addrs)
	b.remotesMu.Lock()
	defer b.remotesMu.Unlock()
	if b.remotes == nil {
		b.remotes = map[string]*executor.Remote{}
	}
	for _, addr := range addrs {
		if _, ok := b.remotes[addr]; ok {
			continue
		}
		r, err := executor.Dial(ctx, addr, BuilderDialTimeout)
		if err != nil {
			return err
		}
		b.remotes[addr] = r
		for _, pl := range wanted[addr] {
			if err := r.CheckPlatform(pl); err != nil {
				return err
			}
		}
	}
	return nil
}

func containsPlatform(list []string, pl string) bool {
	for _, x := range list {
		if x == pl {
			return true
		}
	}
	return false
}

// builderGroup is the platforms of one package that one builder solves together.
type builderGroup struct {
	name      string // the builder's address; "" for the in-process engine
	platforms []string
}

// groupByBuilder splits platforms by the builder they are assigned to, in the order of their first platform.
func (b *Builder) groupByBuilder(platforms []string) []builderGroup {
	var groups []builderGroup
	index := map[string]int{}
	for _, pl := range platforms {
		addr := b.opts.Builders[pl]
		i, ok := index[addr]
		if !ok {
			i = len(groups)
			index[addr] = i
			groups = append(groups, builderGroup{name: addr})
		}
		groups[i].platforms = append(groups[i].platforms, pl)
	}
	return groups
}

// solverFor is the builder of a group: the remote one it names, or the in-process engine, started on first use.
func (b *Builder) solverFor(ctx context.Context, g builderGroup) (Solver, error) {
	if g.name == "" {
		for _, pl := range g.platforms {
			if err := executor.CheckEmulation(pl); err != nil {
				return nil, err
			}
		}
		return b.startEngine(ctx)
	}
	b.remotesMu.Lock()
	r, ok := b.remotes[g.name]
	b.remotesMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("builder %s was not connected before the build (internal error)", executor.BuilderName(g.name))
	}
	return r, nil
}

// buildOnBuilders solves the platforms, each builder's share as one multi-platform solve (builders work at the same
// time), and returns the children of the package's index in platform-group order and the <FullTag>-<arch> names.
func (b *Builder) buildOnBuilders(ctx context.Context, plan *frontend.BuildPlan, platforms []string, base map[string]string) ([]ocispec.Descriptor, map[string]ocispec.Descriptor, error) {
	groups := b.groupByBuilder(platforms)
	solvers := make([]Solver, len(groups))
	for i, g := range groups {
		s, err := b.solverFor(ctx, g)
		if err != nil {
			return nil, nil, err
		}
		solvers[i] = s
		if g.name != "" {
			fmt.Fprintf(b.opts.Log, "Building %q for %v on builder %s\n", plan.Package.Tag(), g.platforms, executor.BuilderName(g.name))
		}
	}
	names := map[string]ocispec.Descriptor{}
	if len(plan.Package.DependsImages) > 0 {
		// Depends archives are per architecture but live at one path in the context, so such packages build
		// their platforms one after the other.
		var children []ocispec.Descriptor
		for i, g := range groups {
			for _, pl := range g.platforms {
				if err := b.writeDepends(ctx, plan, pl); err != nil {
					return nil, nil, err
				}
				descs, err := b.buildPlatform(builderContext(ctx, g), solvers[i], plan, pl, base, names)
				if err != nil {
					return nil, nil, err
				}
				children = append(children, descs...)
			}
		}
		return children, names, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]groupResult, len(groups))
	var wg sync.WaitGroup
	for i, g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = b.buildGroup(builderContext(ctx, g), solvers[i], plan, g.platforms, base)
			if results[i].err != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	var children []ocispec.Descriptor
	for _, r := range results {
		if r.err != nil && !isCancelled(r.err) {
			return nil, nil, r.err
		}
	}
	for _, r := range results {
		if r.err != nil {
			return nil, nil, r.err
		}
		children = append(children, r.children...)
		for k, v := range r.names {
			names[k] = v
		}
	}
	return children, names, nil
}

type groupResult struct {
	children []ocispec.Descriptor
	names    map[string]ocispec.Descriptor
	err      error
}

func (b *Builder) buildGroup(ctx context.Context, s Solver, plan *frontend.BuildPlan, platforms []string, base map[string]string) groupResult {
	if len(platforms) > 1 {
		children, names, err := b.buildMultiPlatform(ctx, s, plan, platforms, base)
		return groupResult{children, names, err}
	}
	names := map[string]ocispec.Descriptor{}
	children, err := b.buildPlatform(ctx, s, plan, platforms[0], base, names)
	return groupResult{children, names, err}
}

func isCancelled(err error) bool {
	return err != nil && (strings.Contains(err.Error(), context.Canceled.Error()))
}

// builderContext labels a remote builder's progress lines with its address, so that the output says which builder
// builds what.
func builderContext(ctx context.Context, g builderGroup) context.Context {
	if g.name == "" {
		return ctx
	}
	label, _ := ctx.Value(progressPrefixKey{}).(string)
	if label != "" {
		label += " "
	}
	return withProgressPrefix(ctx, label+"@"+executor.BuilderName(g.name))
}

// closeRemotes drops the connections to the builders.
func (b *Builder) closeRemotes() error {
	b.remotesMu.Lock()
	defer b.remotesMu.Unlock()
	var first error
	for _, r := range b.remotes {
		if err := r.Close(); err != nil && first == nil {
			first = err
		}
	}
	b.remotes = nil
	return first
}
