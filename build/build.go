// Package build runs one `lkpkg pkg build`: it takes the plans frontend/ makes, solves each missing platform with
// the executor's embedded BuildKit, commits the results into the linuxkit cache (snapshot/), and then hands them to
// the other outputs asked for: containers-storage, a Docker daemon, a registry push with its signatures
// (registry/). It is where plans, engine and cache meet for a build; frontend, executor and snapshot do not import
// one another (cmd/lkpkg imports them too, to turn flags into their options and for the commands that do not
// build).
package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/moby/buildkit/util/progress/progressui"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/lkpkg/lkpkg/executor"
	"github.com/lkpkg/lkpkg/frontend"
	"github.com/lkpkg/lkpkg/registry"
	"github.com/lkpkg/lkpkg/snapshot"
)

// CacheStoreName is the OCI store name under which the linuxkit cache is offered to BuildKit for FROM images.
const CacheStoreName = "linuxkit-cache"

// Options configure a Builder.
type Options struct {
	Force        bool // build even when the cache has the image
	Pull         bool // pull the package's tag into the cache when the registry has a platform the cache lacks
	Offline      bool // never look the package's tag up in its registry (--offline, LKPKG_OFFLINE)
	Precache     bool // pull FROM images missing from the cache into it before building
	Puller       *registry.Puller
	IgnoreCached bool // never serve FROM images from the linuxkit cache
	Engine       executor.Options
	Registry     registry.HostsOptions // plain-HTTP/insecure registries and extra CAs for FROM pulls
	Credentials  *registry.Credentials // logins for FROM pulls; nil pulls anonymously
	SSH          session.Attachable    // the --ssh agents RUN --mount=type=ssh reaches (see SSHAgents); nil: none
	SBOMScanner  string                // scanner image for SBOM attestations (--sbom-scanner); "": none
	SBOMDefault  bool                  // SBOMScanner is the default: used only when the linuxkit cache, its registry or a mirror has it
	Progress     io.Writer             // BuildKit progress; nil shows none
	ProgressMode string                // auto, plain, tty, quiet, rawjson
	Log          io.Writer             // messages for the user
	Debug        io.Writer             // lkpkg's decisions (cache hits, what is built where), for -v 2
	DryRun       bool                  // print what would be built (as linuxkit's dry-run does) instead of building
	Concurrency  int                   // packages built at once (1 when progress needs the terminal to itself)
	// Builders are BuildKit builder addresses by platform (--builders, see ParseBuilders); platforms without one
	// build in the in-process engine.
	Builders map[string]string
}

// Builder builds packages into one linuxkit cache. The BuildKit engine starts only when something needs
// building, so a run whose tags are all cached costs no engine start-up.
type Builder struct {
	opts  Options
	cache *snapshot.Cache

	progressMu sync.Mutex // serialises labelled progress lines of concurrent packages

	lookupMu    sync.Mutex
	unreachable map[string]struct{}          // registry hosts a look-up could not reach, noted once
	needed      map[*frontend.BuildPlan]bool // packages another package of the run names (pulled, not left remote)

	scannerOnce      sync.Once
	scanner          string            // the SBOM scanner, once found obtainable
	scannerFromCache map[string]string // where the cache holds it (executor.SolveRequest.FromCache)
	scannerNote      string            // why there is no SBOM, said once when a solve first asks
	scannerNoteOnce  sync.Once
	scannerErr       error

	engineOnce sync.Once
	engine     *executor.Local
	engineErr  error
	stateDir   atomic.Pointer[string] // the engine's, once starting: read by builds that may not have started it

	remotesMu sync.Mutex
	remotes   map[string]*executor.Remote // connected builders by address
}

// New returns a Builder writing into cache.
func New(cache *snapshot.Cache, opts Options) *Builder {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.Debug == nil {
		opts.Debug = io.Discard
	}
	return &Builder{opts: opts, cache: cache, unreachable: map[string]struct{}{}, needed: map[*frontend.BuildPlan]bool{}}
}

// Close stops the engine if it was started.
func (b *Builder) Close() error {
	errs := []error{b.closeRemotes()}
	b.engineOnce.Do(func() {}) // waits for a start in progress (startEngineEarly); else none is started after
	if b.engine != nil {
		errs = append(errs, b.engine.Close())
	}
	return errors.Join(errs...)
}

// startEngineEarly starts the in-process engine in the background when platforms it would build are missing
// from the cache: its start (BuildKit's databases, the worker) is the longest step before the first solve, and
// runs meanwhile with the registry look-ups, git's history and the checks of the base images; the SBOM scanner is
// looked for meanwhile too. Should the registry hold everything after all, the engine is stopped unused; a failed
// start is reported when the engine is first needed.
func (b *Builder) startEngineEarly(ctx context.Context, todo []string) {
	if b.opts.DryRun {
		return
	}
	go b.findScannerEarly(ctx)
	if slices.ContainsFunc(todo, func(pl string) bool { return b.opts.Builders[pl] == "" }) {
		go func() { _, _ = b.startEngine(ctx) }()
	}
}

func (b *Builder) startEngine(ctx context.Context) (*executor.Local, error) {
	b.engineOnce.Do(func() {
		opts := b.opts.Engine
		if opts.Registries, b.engineErr = registry.Hosts(b.opts.Registry); b.engineErr == nil {
			if dir, err := opts.ResolvedStateDir(); err == nil {
				b.stateDir.Store(&dir)
			}
			b.engine, b.engineErr = executor.Open(ctx, opts)
		}
	})
	return b.engine, b.engineErr
}

// Result says what Build did for one package.
type Result struct {
	Built  []string // platforms built
	Cached []string // platforms already in the cache
	Remote []string // platforms found in the registry, neither built nor pulled
	Index  ocispec.Descriptor
}

// Build builds the plan's platforms missing from the cache (all of them with Force) and not found in the registry
// under the package's tag (see lookUp; those are pulled when the package must be in the cache), stores each as
// <FullTag>-<arch> and merges them into the multi-arch index <FullTag>.
func (b *Builder) Build(ctx context.Context, plan *frontend.BuildPlan) (*Result, error) {
	tag := plan.Package.FullTag()
	if len(plan.Platforms) == 0 {
		fmt.Fprintf(b.opts.Log, "Skipping %s with no architectures to build\n", plan.Package.Tag())
		return &Result{}, nil
	}
	res := &Result{}
	todo, cached, err := b.missing(plan)
	if err != nil {
		return nil, err
	}
	res.Cached = cached
	if len(todo) == 0 {
		fmt.Fprintf(b.opts.Log, "%s is in the cache; not building (use --force to rebuild)\n", plan.Package.Tag())
		return res, nil
	}
	b.startEngineEarly(ctx, todo)
	if todo, err = b.withRegistry(ctx, plan, todo, res); err != nil || len(todo) == 0 {
		return res, err
	}
	if err := plan.ResolveHistory(); err != nil {
		return nil, err
	}
	if b.opts.DryRun {
		b.printDryRun(plan, todo)
		return res, nil
	}
	fmt.Fprintf(b.opts.Log, "Building %q for %v\n", plan.Package.Tag(), todo)
	children, names, err := b.buildPlatforms(ctx, plan, todo)
	if err != nil {
		return nil, err
	}
	if res.Index, err = b.cache.IndexWriteNamed(tag, children, names); err != nil {
		return nil, fmt.Errorf("writing the index %s into the cache: %w", tag, err)
	}
	res.Built = todo
	return res, nil
}

// missing splits the plan's platforms into those to build (every one with Force) and those already cached.
func (b *Builder) missing(plan *frontend.BuildPlan) (todo, cached []string, err error) {
	tag := plan.Package.FullTag()
	for _, pl := range plan.Platforms {
		arch := snapshot.PlatformArch(pl)
		name := snapshot.ArchName(tag, arch)
		in, err := b.cache.ImageInCache(tag, arch)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case in && !b.opts.Force:
			fmt.Fprintf(b.opts.Debug, "%s: in the cache\n", name)
			cached = append(cached, pl)
		case in:
			fmt.Fprintf(b.opts.Debug, "%s: in the cache, rebuilt (--force)\n", name)
			todo = append(todo, pl)
		default:
			fmt.Fprintf(b.opts.Debug, "%s: not in the cache\n", name)
			todo = append(todo, pl)
		}
	}
	return todo, cached, nil
}

// printDryRun shows each build as the equivalent `docker buildx build` command, in linuxkit's dry-run format.
func (b *Builder) printDryRun(plan *frontend.BuildPlan, platforms []string) {
	network := "none"
	if plan.Network {
		network = "default"
	}
	for _, pl := range platforms {
		args := []string{"docker buildx build", "--platform", pl, "-t", snapshot.ArchName(plan.Package.FullTag(), snapshot.PlatformArch(pl)),
			"-f", filepath.Join(plan.ContextDir, plan.Dockerfile)}
		for _, k := range frontend.SortedKeys(plan.BuildArgs) {
			args = append(args, "--build-arg="+k+"="+plan.BuildArgs[k])
		}
		for _, k := range frontend.SortedKeys(plan.Labels) {
			args = append(args, "--label="+k+"="+plan.Labels[k])
		}
		args = append(args, "--network="+network, plan.ContextDir)
		fmt.Fprintln(b.opts.Log, strings.Join(args, " "))
	}
}

// buildPlatforms solves the platforms, each builder's share (the in-process engine's too) in one solve, and returns
// the per-platform manifests (and attestations) to merge into the index, and the <FullTag>-<arch> entries to name
// with it.
func (b *Builder) buildPlatforms(ctx context.Context, plan *frontend.BuildPlan, platforms []string) ([]ocispec.Descriptor, map[string]ocispec.Descriptor, error) {
	base, err := b.baseContexts(ctx, plan)
	if err != nil {
		return nil, nil, err
	}
	return b.buildOnBuilders(ctx, plan, platforms, base)
}

// baseContexts maps the images the Dockerfile names (FROM, COPY --from, RUN --mount=from) found in the linuxkit
// cache to named contexts, so chained and air-gapped builds never go to a registry for them.
func (b *Builder) baseContexts(ctx context.Context, plan *frontend.BuildPlan) (map[string]string, error) {
	images, err := plan.Images()
	if err != nil {
		return nil, err
	}
	contexts := map[string]string{}
	if b.opts.IgnoreCached {
		fmt.Fprintf(b.opts.Debug, "Base images %v: from their registries (--ignore-cached)\n", images)
		return contexts, nil
	}
	for _, img := range images {
		if err := b.precache(ctx, img); err != nil {
			return nil, err
		}
		name, desc, err := b.cachedImage(img)
		if errors.Is(err, snapshot.ErrNotFound) {
			fmt.Fprintf(b.opts.Debug, "Base image %s: not in the cache, BuildKit pulls it\n", img)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("base image %s: %w", img, err)
		}
		fmt.Fprintf(b.opts.Debug, "Base image %s: from the cache entry %s (%s)\n", img, name, desc.Digest)
		contexts[contextName(img)] = executor.OCILayoutRef(CacheStoreName, desc.Digest)
	}
	return contexts, nil
}

// cachedImage finds the cache entry of the image img, checked blob by blob: BuildKit reads the cache's blobs through
// a containerd content store, which reports a mismatch (if it reads the blob at all) in containerd's words; checked
// here, the error names the entry and its repair. The error wraps snapshot.ErrNotFound when the cache lacks img.
func (b *Builder) cachedImage(img string) (name string, root ocispec.Descriptor, err error) {
	// Entries are named in full (docker.io/…), but an imported layout may carry the short name as written.
	if name, err = b.cache.FindName(img, frontend.ExpandReferenceWithTag(img)); err != nil {
		return "", root, err
	}
	if root, err = b.cache.FindRoot(name); err != nil {
		return "", root, err
	}
	return name, root, b.cache.VerifyEntry(name)
}

// contextName is the name BuildKit's Dockerfile frontend looks a stage's image up by among the named contexts:
// the familiar form without ":latest", however the Dockerfile spells it.
func contextName(img string) string {
	named, err := reference.ParseNormalizedNamed(img)
	if err != nil {
		return img
	}
	return strings.TrimSuffix(reference.FamiliarString(reference.TagNameOnly(named)), ":latest")
}

// precache pulls an image the Dockerfile names and the cache lacks into it (--precache-images), so BuildKit reads it from there.
func (b *Builder) precache(ctx context.Context, img string) error {
	if !b.opts.Precache || img == "scratch" {
		return nil
	}
	full := frontend.ExpandReferenceWithTag(img)
	if _, err := b.cache.FindName(img, full); err == nil {
		return nil
	}
	fmt.Fprintf(b.opts.Log, "Pulling %s into the cache\n", full)
	if _, err := b.opts.Puller.Pull(ctx, b.cache, full, full); err != nil {
		return fmt.Errorf("--precache-images: %w", err)
	}
	return nil
}

// buildPlatform solves one platform, BuildKit's OCI exporter writing the result straight into the cache; names gets what
// <FullTag>-<arch> is to name.
func (b *Builder) buildPlatform(ctx context.Context, solver Solver, plan *frontend.BuildPlan, platform string, base map[string]string, names map[string]ocispec.Descriptor) ([]ocispec.Descriptor, error) {
	name := snapshot.ArchName(plan.Package.FullTag(), snapshot.PlatformArch(platform))
	descs, err := b.solve(ctx, solver, plan, platform, name, base)
	if err != nil {
		return nil, err
	}
	return b.platformChildren(name, platform, descs, names)
}

// buildMultiPlatform solves all platforms at once: BuildKit runs them concurrently and shares the context upload,
// the Dockerfile parse and the base image metadata. Its index only lends its children: each platform's manifest
// is to be named <FullTag>-<arch>, and all of them (attestations too) become children of the package's index.
func (b *Builder) buildMultiPlatform(ctx context.Context, solver Solver, plan *frontend.BuildPlan, platforms []string, base map[string]string) ([]ocispec.Descriptor, map[string]ocispec.Descriptor, error) {
	descs, err := b.solve(ctx, solver, plan, strings.Join(platforms, ","), "", base)
	if err != nil {
		return nil, nil, err
	}
	if len(descs) != 1 || descs[0].MediaType != ocispec.MediaTypeImageIndex {
		return nil, nil, errors.New("the multi-platform build did not export one index")
	}
	idx, err := b.cache.ReadIndex(descs[0].Digest)
	if err != nil {
		return nil, nil, err
	}
	names := map[string]ocispec.Descriptor{}
	for _, child := range idx.Manifests {
		arch, ok := snapshot.ImageArch(child)
		if !ok {
			continue
		}
		named := child
		named.Annotations = nil
		names[snapshot.ArchName(plan.Package.FullTag(), arch)] = named
	}
	return idx.Manifests, names, nil
}

// solveOnce runs one solve for platform (one, or a comma-separated list); BuildKit's OCI exporter writes the blobs
// the cache lacks straight into it, naming nothing. It returns the export's root (exportName is the name BuildKit
// gives it).
func (b *Builder) solveOnce(ctx context.Context, solver Solver, plan *frontend.BuildPlan, platform, exportName string, base map[string]string) ([]ocispec.Descriptor, error) {
	req := b.solveRequest(plan, platform, exportName, base)
	var err error
	if req.SBOMGenerator, req.FromCache, err = b.sbomGenerator(ctx); err != nil {
		return nil, err
	}
	req.ProgressOutput = b.progressWriter(ctx)
	res, err := solver.Solve(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%sbuilding for %s: %w%s%s", dockerfileLine(b.opts.Log, plan, err),
			platform, err, b.authHint(err), b.scannerHint(err))
	}
	root := res.Descriptor
	if root.Digest == "" {
		return nil, fmt.Errorf("building for %s: BuildKit reported no exported image", platform)
	}
	// The exporter wrote every blob the cache lacked, each checked against its digest as it was committed; the
	// root is checked once more, since the cache is about to name it.
	if !b.cache.HasIntactBlob(root.Digest) {
		return nil, fmt.Errorf("storing the build for %s in the cache: its root %s is missing or corrupt", platform, root.Digest)
	}
	root.Annotations = nil
	return []ocispec.Descriptor{root}, nil
}

// authHint says where credentials were looked for when a registry refused them.
func (b *Builder) authHint(err error) string {
	msg := err.Error()
	if !strings.Contains(msg, "401 Unauthorized") && !strings.Contains(msg, "403 Forbidden") && !strings.Contains(msg, "failed to authorize") {
		return ""
	}
	where := "nowhere"
	if b.opts.Credentials != nil {
		where = strings.Join(b.opts.Credentials.Sources, ", ")
	}
	return "\n(the registry refused access; credentials were looked for in: " + where + "; pass --registry-creds <registry>=<user>:<password> or log in with docker or podman)"
}

// scannerHint says which flag named the image when BuildKit could not get the SBOM scanner.
func (b *Builder) scannerHint(err error) string {
	if b.opts.SBOMScanner == "" || !strings.Contains(err.Error(), "resolve source metadata for ") {
		return ""
	}
	names := []string{b.opts.SBOMScanner}
	if named, perr := reference.ParseNormalizedNamed(b.opts.SBOMScanner); perr == nil {
		names = append(names, reference.TagNameOnly(named).String())
	}
	if !slices.ContainsFunc(names, func(n string) bool { return strings.Contains(err.Error(), "for "+n+":") }) {
		return ""
	}
	return "\n(that is the --sbom-scanner image: the linuxkit cache does not hold it, so BuildKit pulls it from its registry or a --mirror; `lkpkg cache pull` puts it in the cache)"
}

func (b *Builder) solveRequest(plan *frontend.BuildPlan, platform, name string, base map[string]string) executor.SolveRequest {
	network := executor.NetworkNone
	if plan.Network {
		network = executor.NetworkHost
	}
	return executor.SolveRequest{
		ContextDir:      plan.ContextDir,
		ExtraSources:    extraSources(plan),
		Dockerfile:      plan.Dockerfile,
		Platform:        platform,
		BuildArgs:       plan.BuildArgs,
		Labels:          plan.Labels,
		Network:         network,
		NoCache:         plan.NoCache,
		Attachables:     b.attachables(),
		NamedContexts:   base,
		OCIStores:       map[string]string{CacheStoreName: b.cache.Dir()},
		ExportName:      name,
		OutputStore:     b.cache.ContentStore(),
		SourceDateEpoch: plan.SourceDateEpoch,
		SBOMGenerator:   b.opts.SBOMScanner,
		ProgressOutput:  b.opts.Progress,
		ProgressMode:    progressui.DisplayMode(b.opts.ProgressMode),
	}
}

// attachables are what the build may ask of lkpkg during a solve: registry credentials and SSH agents.
func (b *Builder) attachables() []session.Attachable {
	var as []session.Attachable
	if b.opts.Credentials != nil {
		as = append(as, authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{
			AuthConfigProvider: b.opts.Credentials.BuildKitProvider()}))
	}
	if b.opts.SSH != nil {
		as = append(as, b.opts.SSH)
	}
	return as
}

func extraSources(plan *frontend.BuildPlan) []executor.ContextMount {
	var mounts []executor.ContextMount
	for _, es := range plan.ExtraSources {
		mounts = append(mounts, executor.ContextMount{Src: es.Src, Dst: es.Dst})
	}
	return mounts
}

// platformChildren records the imported per-arch result under name in names and returns the descriptors the
// multi-arch index gets: the manifests inside BuildKit's per-arch index, or the manifest itself with its platform.
func (b *Builder) platformChildren(name, platform string, descs []ocispec.Descriptor, names map[string]ocispec.Descriptor) ([]ocispec.Descriptor, error) {
	if len(descs) != 1 {
		return nil, fmt.Errorf("the build of %s exported %d images, expected one", name, len(descs))
	}
	root := descs[0]
	names[name] = root
	if root.MediaType != ocispec.MediaTypeImageIndex {
		p, err := snapshot.ParsePlatform(platform)
		if err != nil {
			return nil, err
		}
		root.Platform = &p
		root.Annotations = nil
		return []ocispec.Descriptor{root}, nil
	}
	idx, err := b.cache.ReadIndex(root.Digest)
	if err != nil {
		return nil, err
	}
	return idx.Manifests, nil
}
