package build

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/distribution/reference"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/lkpkg/lkpkg/frontend"
	"github.com/lkpkg/lkpkg/registry"
	"github.com/lkpkg/lkpkg/snapshot"
)

// lookupTimeout bounds one registry look-up: long enough for a registry across the world, short enough that a
// machine with no route to it loses seconds, not minutes, before building locally.
const lookupTimeout = 5 * time.Second

// lookUp asks the registry, as linuxkit does before building, which of the platforms the cache lacks (todo) it
// already holds under the package's tag; those are not built. Dirty tags, --force and --offline ask nothing. A
// registry that cannot be reached is noted once per run and the platforms are built locally.
func (b *Builder) lookUp(ctx context.Context, plan *frontend.BuildPlan, todo []string) (found []string) {
	if b.opts.Force || b.opts.Offline || b.opts.Puller == nil || plan.Package.Dirty {
		return nil
	}
	tag := plan.Package.FullTag()
	host := tag
	if named, err := reference.ParseNormalizedNamed(tag); err == nil {
		host = reference.Domain(named)
	}
	b.lookupMu.Lock()
	_, down := b.unreachable[host]
	b.lookupMu.Unlock()
	if down {
		return nil
	}
	platforms, err := b.opts.Puller.Platforms(ctx, tag, lookupTimeout)
	switch {
	case errors.Is(err, registry.ErrNotInRegistry):
		return nil
	case errors.Is(err, registry.ErrUnreachable):
		b.lookupMu.Lock()
		defer b.lookupMu.Unlock()
		if _, noted := b.unreachable[host]; !noted {
			b.unreachable[host] = struct{}{}
			fmt.Fprintf(b.opts.Log, "Registry not reachable (%v); building locally (--offline skips the look-up)\n", err)
		}
		return nil
	case err != nil:
		fmt.Fprintf(b.opts.Log, "Could not look %s up in its registry (%v); building locally\n", plan.Package.Tag(), err)
		return nil
	}
	for _, pl := range todo {
		arch := snapshot.PlatformArch(pl)
		if slices.ContainsFunc(platforms, func(p ocispec.Platform) bool { return p.OS == "linux" && p.Architecture == arch }) {
			found = append(found, pl)
		}
	}
	return found
}

// mustHaveLocally says whether a package found in the registry is pulled into the cache rather than left there:
// with --pull, for an output that reads it from the cache (--docker, --store, a release push), and when another
// package of the run names its image.
func (b *Builder) mustHaveLocally(plan *frontend.BuildPlan) bool {
	return b.opts.Pull || b.needed[plan]
}

// pullTag fetches the package's tag into the cache. Platforms the cache already held stay as they were: the
// pulled index is merged with them, the cache's winning.
func (b *Builder) pullTag(ctx context.Context, plan *frontend.BuildPlan) error {
	tag := plan.Package.FullTag()
	var local []ocispec.Descriptor
	if root, err := b.cache.FindRoot(tag); err == nil && root.MediaType == ocispec.MediaTypeImageIndex {
		idx, err := b.cache.ReadIndex(root.Digest)
		if err != nil {
			return err
		}
		local = idx.Manifests
	}
	if _, err := b.opts.Puller.Pull(ctx, b.cache, tag, tag); err != nil {
		return err
	}
	if len(local) > 0 {
		if _, err := b.cache.IndexWriteNamed(tag, local, nil); err != nil {
			return err
		}
	}
	return nil
}

// withRegistry takes the platforms the registry holds out of todo: pulled into the cache when the package must
// be there (mustHaveLocally), else left in the registry (res.Remote). It returns what is still to build.
func (b *Builder) withRegistry(ctx context.Context, plan *frontend.BuildPlan, todo []string, res *Result) ([]string, error) {
	found := b.lookUp(ctx, plan, todo)
	if len(found) == 0 {
		return todo, nil
	}
	if !b.mustHaveLocally(plan) {
		fmt.Fprintf(b.opts.Log, "%s found on registry for %v; not building (--pull fetches it into the cache, --force rebuilds)\n",
			plan.Package.Tag(), found)
		res.Remote = found
		return slices.DeleteFunc(todo, func(pl string) bool { return slices.Contains(found, pl) }), nil
	}
	if err := b.pullTag(ctx, plan); err != nil {
		fmt.Fprintf(b.opts.Log, "%s found on registry but not pulled (%v); building\n", plan.Package.Tag(), err)
		return todo, nil
	}
	fmt.Fprintf(b.opts.Log, "%s found on registry; pulled into the cache\n", plan.Package.Tag())
	todo, cached, err := b.missing(plan)
	if err != nil {
		return nil, err
	}
	res.Cached = cached
	return todo, nil
}

// DefaultSBOMScanner is the scanner linuxkit (BuildKit's default generator) attaches SBOMs with.
const DefaultSBOMScanner = "docker/buildkit-syft-scanner:stable-1"

// sbomGenerator is the scanner image for this run's solves: the one asked for, or the default when it can be had
// (asked once per run, only when something is built); "": none. A scanner the linuxkit cache holds is read from
// there (fromCache maps its name for executor.SolveRequest.FromCache), so SBOMs need no registry: offline, the
// default scanner is used only from the cache.
func (b *Builder) sbomGenerator(ctx context.Context) (scanner string, fromCache map[string]string, err error) {
	b.findScannerEarly(ctx)
	b.scannerNoteOnce.Do(func() {
		if b.scannerNote != "" {
			fmt.Fprintln(b.opts.Log, b.scannerNote)
		}
	})
	return b.scanner, b.scannerFromCache, b.scannerErr
}

// findScannerEarly finds the scanner (once; sbomGenerator says what it found when a solve first asks), so that a
// registry's round trip, or its silence, overlaps the engine's start and the package's own look-up.
func (b *Builder) findScannerEarly(ctx context.Context) {
	b.scannerOnce.Do(func() { b.scanner, b.scannerFromCache, b.scannerNote, b.scannerErr = b.findScanner(ctx) })
}

// findScanner returns the scanner, where the cache holds it, and, when there is none to be had, the line that
// says so.
func (b *Builder) findScanner(ctx context.Context) (string, map[string]string, string, error) {
	scanner := b.opts.SBOMScanner
	if scanner == "" {
		return "", nil, "", nil
	}
	source, err := b.cacheSource(scanner)
	if err != nil {
		return "", nil, "", fmt.Errorf("SBOM scanner %s: %w", scanner, err)
	}
	if source != nil {
		return scanner, source, "", nil
	}
	if !b.opts.SBOMDefault {
		return scanner, nil, "", nil // BuildKit pulls it; its error names the image (scannerHint)
	}
	if b.opts.Offline || b.opts.Puller == nil {
		return "", nil, fmt.Sprintf("No SBOM: the default scanner %s is not in the linuxkit cache, and --offline does not look it up (--sbom-scanner false silences this)", scanner), nil
	}
	if err := b.opts.Puller.Reachable(ctx, scanner, lookupTimeout); err != nil {
		return "", nil, fmt.Sprintf("No SBOM: the default scanner cannot be had (%v); building without one (lkpkg cache pull %s makes it available offline; --sbom-scanner <image> picks another, false silences this)", err, scanner), nil
	}
	return scanner, nil, "", nil
}

// cacheSource maps the image img, when the linuxkit cache holds it intact, to its cache entry for
// executor.SolveRequest.FromCache; nil when the cache lacks it.
func (b *Builder) cacheSource(img string) (map[string]string, error) {
	name, desc, err := b.cachedImage(img)
	if errors.Is(err, snapshot.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(b.opts.Debug, "Image %s: from the cache entry %s (%s)\n", img, name, desc.Digest)
	return map[string]string{frontend.ExpandReferenceWithTag(img): CacheStoreName + "@" + desc.Digest.String()}, nil
}
