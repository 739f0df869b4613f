package frontend

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/lkpkg/lkpkg/proxyargs"
)

// Labels lkpkg puts on every image. The first two are linuxkit's; the version labels name lkpkg, not linuxkit.
const (
	LabelSource       = "org.opencontainers.image.source"
	LabelRevision     = "org.opencontainers.image.revision"
	LabelToolVersion  = "org.mobyproject.lkpkg.version"
	LabelToolRevision = "org.mobyproject.lkpkg.revision"
)

// BuildOptions are the `pkg build` flags that change what is built.
type BuildOptions struct {
	Platforms     string   // --platforms: comma-separated os/arch, replaces build.yml arches
	SkipPlatforms string   // --skip-platforms: comma-separated linux/<arch> removed from build.yml arches
	Dockerfile    string   // --dockerfile: replaces build.yml's
	BuildArgFiles []string // --build-arg-file, in order; later files win
	Environ       []string // the caller's environment: proxy variables and SOURCE_DATE_EPOCH
	ToolVersion   string   // lkpkg's version and commit, for the version labels
	ToolRevision  string
}

// BuildPlan is everything needed to build one package: what package build turns into the executor's solve
// requests. Its exported fields are data; the values that need the repository's history are filled by
// ResolveHistory, which asks git through the Loader that made the plan (so before that Loader's Close), and
// which only a package that gets built needs.
type BuildPlan struct {
	Package      *Package
	ContextDir   string        // the package directory
	ExtraSources []ExtraSource // copied into the context at their destinations
	Dockerfile   string        // slash path relative to the context
	Platforms    []string      // os/arch[/variant]; empty means nothing to build
	BuildArgs    map[string]string
	Labels       map[string]string
	Network      bool // false: every RUN in a network namespace with loopback only
	NoCache      bool
	// SourceDateEpoch clamps timestamps for reproducible images: $SOURCE_DATE_EPOCH, else the commit time of the
	// package's last change (set by ResolveHistory), else zero (outside git).
	SourceDateEpoch time.Time

	history     func() error // fills GOPKGVERSION and SourceDateEpoch from git; nil when nothing is left to ask
	historyOnce sync.Once
	historyErr  error

	imagesOnce sync.Once
	images     []string
	imagesErr  error
}

// Images are the images the plan's Dockerfile names (Dockerfile.Images with the plan's build args), read and
// parsed once however often it is called. Call it after ResolveHistory for a package that is built: its FROM
// lines may use the build args that fills in.
func (plan *BuildPlan) Images() ([]string, error) {
	plan.imagesOnce.Do(func() {
		df, err := ReadDockerfile(plan)
		if err != nil {
			plan.imagesErr = err
			return
		}
		plan.images, plan.imagesErr = df.Images(plan.BuildArgs)
	})
	return plan.images, plan.imagesErr
}

// ResolveHistory fills what needs the git history of the package: the automatic GOPKGVERSION (unless a build arg
// sets it) and SourceDateEpoch from the package's last change (unless $SOURCE_DATE_EPOCH is set). Git is asked
// once however often it is called. Plan leaves this out because a package whose tags are all cached is not
// built: a cached re-run then starts no git process beyond the tree hash's. Call it before the Loader's Close.
func (plan *BuildPlan) ResolveHistory() error {
	plan.historyOnce.Do(func() {
		if plan.history != nil {
			plan.historyErr = plan.history()
		}
	})
	return plan.historyErr
}

// Plan turns a loaded package and the build flags into a BuildPlan.
func (l *Loader) Plan(p *Package, o BuildOptions) (*BuildPlan, error) {
	plan := &BuildPlan{Package: p, ContextDir: p.Dir, ExtraSources: p.ExtraSources,
		Network: p.Network, NoCache: p.DisableCache}
	var err error
	if plan.Platforms, err = platforms(p, o); err != nil {
		return nil, err
	}
	if plan.Dockerfile, err = dockerfile(p, o.Dockerfile); err != nil {
		return nil, err
	}
	if plan.BuildArgs, err = l.buildArgs(p, o); err != nil {
		return nil, err
	}
	fromEnv, err := sourceDateEpochFromEnv(o.Environ)
	if err != nil {
		return nil, err
	}
	plan.SourceDateEpoch = fromEnv
	_, userVersion := plan.BuildArgs["GOPKGVERSION"]
	if p.InGit && (!userVersion || fromEnv.IsZero()) {
		plan.history = func() error { return l.resolveHistory(plan, !userVersion, fromEnv.IsZero()) }
	}
	if plan.Labels, err = labels(p, o); err != nil {
		return nil, err
	}
	return plan, nil
}

// platforms applies --platforms or --skip-platforms to build.yml's arches.
func platforms(p *Package, o BuildOptions) ([]string, error) {
	if o.Platforms != "" && o.SkipPlatforms != "" {
		return nil, fmt.Errorf("--platforms and --skip-platforms cannot be combined: use one")
	}
	if o.Platforms != "" {
		var out []string
		for _, pl := range splitList(o.Platforms) {
			if err := checkPlatform(pl); err != nil {
				return nil, fmt.Errorf("--platforms: %w", err)
			}
			out = appendUnique(out, pl)
		}
		return out, nil
	}
	skip := map[string]bool{}
	for _, pl := range splitList(o.SkipPlatforms) {
		arch, ok := strings.CutPrefix(pl, "linux/")
		if !ok || !KnownArch(arch) {
			return nil, fmt.Errorf("--skip-platforms: %q is not linux/<arch> (e.g. linux/s390x)", pl)
		}
		skip[arch] = true
	}
	var out []string
	for _, a := range p.Spec.Arches {
		if !skip[a] {
			out = appendUnique(out, "linux/"+a)
		}
	}
	return out, nil
}

func checkPlatform(pl string) error {
	parts := strings.Split(pl, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] != "linux" || !KnownArch(parts[1]) {
		return fmt.Errorf("%q is not a Linux platform such as linux/amd64 or linux/arm/v7", pl)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// dockerfile resolves the Dockerfile (flag over build.yml) and checks it is a file inside the package.
func dockerfile(p *Package, override string) (string, error) {
	rel, source := p.Spec.Dockerfile, p.Spec.File+": dockerfile"
	if override != "" {
		rel, source = override, "--dockerfile"
	}
	abs, err := SubPath(p.Dir, rel)
	if err != nil {
		return "", fmt.Errorf("%s %q: must be a relative path inside the package directory %s", source, rel, p.Dir)
	}
	st, err := os.Stat(abs)
	if err != nil || !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s %q: no such file in %s", source, rel, p.Dir)
	}
	return filepath.ToSlash(filepath.Clean(rel)), nil
}

// buildArgs applies linuxkit's precedence: proxy variables < build.yml buildArgs < --build-arg-file (in order) <
// automatic args, which are only set when absent.
func (l *Loader) buildArgs(p *Package, o BuildOptions) (map[string]string, error) {
	args := proxyargs.FromEnv(o.Environ)
	if p.Spec.BuildArgs != nil {
		resolved, err := l.ResolveBuildArgs(*p.Spec.BuildArgs, p.Dir, p.Spec.File+": buildArgs")
		if err != nil {
			return nil, err
		}
		setArgs(args, resolved)
	}
	for _, f := range o.BuildArgFiles {
		entries, err := ReadBuildArgFile(f)
		if err != nil {
			return nil, err
		}
		abs, _ := filepath.Abs(f)
		resolved, err := l.ResolveBuildArgs(entries, filepath.Dir(abs), f)
		if err != nil {
			return nil, err
		}
		setArgs(args, resolved)
	}
	auto, err := l.autoArgs(p)
	if err != nil {
		return nil, err
	}
	for k, v := range auto {
		if _, set := args[k]; !set {
			args[k] = v
		}
	}
	return args, nil
}

func setArgs(m map[string]string, args []BuildArg) {
	for _, a := range args {
		m[a.Key] = a.Value
	}
}

// autoArgs are SOURCE, REVISION, PKG_HASH and PKG_IMAGE, as linuxkit sets them; GOPKGVERSION, which needs the
// repository's history, is left to ResolveHistory.
func (l *Loader) autoArgs(p *Package) (map[string]string, error) {
	auto := map[string]string{"PKG_IMAGE": p.Org + "/" + p.Image}
	if p.Spec.GitRepo != "" {
		auto["SOURCE"] = p.Spec.GitRepo
	}
	if p.Hash != "" {
		auto["PKG_HASH"] = p.Hash
	}
	if !p.InGit {
		return auto, nil
	}
	if !p.Dirty {
		auto["REVISION"] = p.Commit
	}
	return auto, nil
}

// goPkgVersion is what linuxkit means GOPKGVERSION to be (its git describe call never matches, so it always
// yields v0.0.0-…): the semver tag at HEAD, else a Go pseudo-version based on the latest semver tag reachable
// from HEAD, with the commit time in UTC.
func (l *Loader) goPkgVersion(p *Package) (string, error) {
	repo, err := l.repos.Open(p.Dir)
	if err != nil {
		return "", err
	}
	info, err := repo.Describe()
	if err != nil {
		return "", err
	}
	return GoPkgVersion(info.LastTag, info.TagAtHead, info.CommitTime, info.Commit), nil
}

// GoPkgVersion computes a Go module version for commit: lastTag itself when it points at the commit, otherwise a
// pseudo-version (v0.0.0-<time>-<rev>, vX.Y.(Z+1)-0.<time>-<rev>, or vX.Y.Z-pre.0.<time>-<rev>).
func GoPkgVersion(lastTag string, tagAtHead bool, commitTime time.Time, commit string) string {
	// Only full vMAJOR.MINOR.PATCH tags count (semver accepts the v1.2 shorthand, git describe's pattern does not).
	if lastTag != "" && semver.Canonical(lastTag) != strings.TrimSuffix(lastTag, semver.Build(lastTag)) {
		lastTag = ""
	}
	if lastTag != "" && tagAtHead {
		return lastTag
	}
	rev := commit
	if len(rev) > 12 {
		rev = rev[:12]
	}
	return module.PseudoVersion("", lastTag, commitTime, rev)
}

// labels are linuxkit's source/revision labels, the config label and lkpkg's version labels.
func labels(p *Package, o BuildOptions) (map[string]string, error) {
	m := map[string]string{LabelToolVersion: orUnknown(o.ToolVersion), LabelToolRevision: orUnknown(o.ToolRevision)}
	if p.InGit && p.Spec.GitRepo != "" {
		m[LabelSource] = p.Spec.GitRepo
	}
	if p.InGit && !p.Dirty {
		m[LabelRevision] = p.Commit
	}
	cfg, err := p.Spec.ConfigLabelValue()
	if err != nil {
		return nil, fmt.Errorf("%s: config: %w", p.Spec.File, err)
	}
	if cfg != "" {
		m[ConfigLabel] = cfg
	}
	return m, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// resolveHistory asks git, side by side, for the GOPKGVERSION and the time of the package's last change, as wanted.
func (l *Loader) resolveHistory(plan *BuildPlan, version, lastChange bool) error {
	p := plan.Package
	var sde time.Time
	var sdeErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		if lastChange {
			sde, sdeErr = l.lastChange(p)
		}
	}()
	var v string
	var err error
	if version {
		v, err = l.goPkgVersion(p)
	}
	<-done
	if err != nil {
		return err
	}
	if sdeErr != nil {
		return sdeErr
	}
	if version {
		plan.BuildArgs["GOPKGVERSION"] = v
	}
	if lastChange {
		plan.SourceDateEpoch = sde
	}
	return nil
}

// sourceDateEpochFromEnv reads $SOURCE_DATE_EPOCH; zero when unset.
func sourceDateEpochFromEnv(environ []string) (time.Time, error) {
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "SOURCE_DATE_EPOCH="); ok && v != "" {
			secs, err := strconv.ParseInt(v, 10, 64)
			if err != nil || secs < 0 {
				return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a non-negative number of seconds since 1970", v)
			}
			return time.Unix(secs, 0).UTC(), nil
		}
	}
	return time.Time{}, nil
}

// lastChange is the time of the last commit touching the package.
func (l *Loader) lastChange(p *Package) (time.Time, error) {
	repo, err := l.repos.Open(p.Dir)
	if err != nil {
		return time.Time{}, err
	}
	return repo.LastChange(p.Dir, p.HashCommit)
}

// SortedKeys returns m's keys in order, for stable output.
func SortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
