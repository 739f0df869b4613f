package frontend

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"text/template"

	"github.com/distribution/reference"

	"github.com/lkpkg/lkpkg/frontend/treehash"
)

// Options are the command-line settings that shape a package's identity: linuxkit's `pkg` persistent flags.
// The zero value means "as build.yml says", which is also what @lkt:pkg: references use.
type Options struct {
	BuildYML     string // build.yml file name, relative to the package dir unless absolute
	Org          string // --org or LINUXKIT_PKG_ORG; "" leaves build.yml's org
	OrgSource    string // where Org came from, for messages ("--org", "LINUXKIT_PKG_ORG"); "--org" when empty
	Hash         string // --hash: used verbatim instead of the git tree hash
	Tag          string // --tag: a template over {{.Hash}}; "" leaves build.yml's
	Dev          bool   // --dev: org $USER (User), hash "dev"
	User         string // the org --dev uses
	HashPath     string // --hash-path: directory hashed instead of the package dir; must contain it
	HashCommit   string // --hash-commit; "" is HEAD
	ForceDirty   bool
	Network      *bool // --network/--nonetwork when given
	DisableCache *bool // --disable-cache/--enable-cache when given
}

// DevUser is the user name --dev takes as the org, as linuxkit's: $USER, else the account's name, else "dev".
func DevUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "dev"
}

// Package is a package directory with its identity resolved: everything `show-tag` prints and a build needs to
// name its outputs.
type Package struct {
	Dir           string // absolute package directory
	Spec          *ParsedSpec
	Org           string
	Image         string
	Hash          string // tree hash (with -dirty-xxxxxxx), --hash, "dev", or "" outside git
	TagName       string // rendered tag; "latest" outside git
	Dirty         bool
	InGit         bool
	Commit        string // HEAD commit id when in git
	HashCommit    string
	Network       bool
	DisableCache  bool
	ExtraSources  []ExtraSource
	DependsImages []string
}

// Tag is org/image:tag, what `linuxkit pkg show-tag` prints.
func (p *Package) Tag() string { return p.Org + "/" + p.Image + ":" + p.TagName }

// FullTag is the canonical form used for cache entries and pushes (docker.io/org/image:tag).
func (p *Package) FullTag() string { return ExpandReference(p.Tag()) }

// ReleaseTag is org/image:<release>.
func (p *Package) ReleaseTag(release string) (string, error) {
	if release == "" {
		return "", errors.New("a release tag is required")
	}
	if p.Dirty {
		return "", fmt.Errorf("cannot release %s: the package is dirty (commit its changes first)", p.Dir)
	}
	return p.Org + "/" + p.Image + ":" + release, nil
}

// Loader resolves packages. It caches git repositories so a tree of many packages costs a handful of git
// processes rather than several per package. Close it when done.
type Loader struct {
	opts  Options
	repos *treehash.Repos
}

// NewLoader returns a Loader applying opts to every package it loads.
func NewLoader(opts Options) *Loader {
	repos := treehash.New()
	if (opts.HashCommit == "" || opts.HashCommit == "HEAD") && !opts.ForceDirty {
		repos.PrefetchDirty() // each package at HEAD is asked whether it is dirty
	}
	return &Loader{opts: opts, repos: repos}
}

// Close stops the git helper processes.
func (l *Loader) Close() error { return l.repos.Close() }

// withDefaults is a Loader over the same repositories with default options, as used for @lkt:pkg: values.
func (l *Loader) withDefaults() *Loader { return &Loader{repos: l.repos} }

// Load resolves the package in dir.
func (l *Loader) Load(dir string) (*Package, error) {
	abs, err := packageDir(dir)
	if err != nil {
		return nil, err
	}
	hashPath, err := l.hashPath(abs)
	if err != nil {
		return nil, err
	}
	spec, err := ParseFile(l.buildYMLPath(abs))
	if err != nil {
		return nil, err
	}
	p := &Package{Dir: abs, Spec: spec, Image: spec.Image, HashCommit: l.hashCommit()}
	if p.ExtraSources, p.DependsImages, err = spec.Validate(abs); err != nil {
		return nil, err
	}
	l.applyOverrides(p)
	if err := l.checkName(p); err != nil {
		return nil, err
	}
	if err := l.resolveHash(p, hashPath); err != nil {
		return nil, err
	}
	if err := l.renderTag(p); err != nil {
		return nil, err
	}
	return p, nil
}

func packageDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("package directory %s: %w", dir, err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("%s is not a directory: pass the package directory that holds build.yml", dir)
	}
	return abs, nil
}

func (l *Loader) buildYMLPath(pkgDir string) string {
	name := l.opts.BuildYML
	if name == "" {
		name = DefaultBuildYML
	}
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(pkgDir, name)
}

func (l *Loader) hashCommit() string {
	if l.opts.HashCommit == "" {
		return "HEAD"
	}
	return l.opts.HashCommit
}

// hashPath checks --hash-path path-wise (linuxkit's string-prefix test accepts /a/pk for /a/pkg).
func (l *Loader) hashPath(pkgDir string) (string, error) {
	if l.opts.HashPath == "" {
		return pkgDir, nil
	}
	hp, err := filepath.Abs(l.opts.HashPath)
	if err != nil {
		return "", err
	}
	realHP, err1 := filepath.EvalSymlinks(hp)
	realPkg, err2 := filepath.EvalSymlinks(pkgDir)
	if err := errors.Join(err1, err2); err != nil {
		return "", fmt.Errorf("--hash-path %s: %w", l.opts.HashPath, err)
	}
	if !within(realHP, realPkg) {
		return "", fmt.Errorf("--hash-path %s is not a parent of the package directory %s: pass a directory that contains it", l.opts.HashPath, pkgDir)
	}
	return hp, nil
}

func (l *Loader) applyOverrides(p *Package) {
	s := p.Spec
	p.Org, p.Network, p.DisableCache = s.Org, s.Network, s.DisableCache
	if l.opts.Dev {
		p.Org = l.opts.User
	}
	if l.opts.Org != "" {
		p.Org = l.opts.Org
	}
	if l.opts.Network != nil {
		p.Network = *l.opts.Network
	}
	if l.opts.DisableCache != nil {
		p.DisableCache = *l.opts.DisableCache
	}
	p.Hash = l.opts.Hash
	if l.opts.Dev && p.Hash == "" {
		p.Hash = "dev"
	}
}

// resolveHash computes linuxkit's hash: the git tree id of hashPath, combined with the extra sources' tree ids,
// with -dirty-<content hash> appended for uncommitted changes.
func (l *Loader) resolveHash(p *Package, hashPath string) error {
	extraTrees, extraDirty, err := l.extraSourceTrees(p)
	if err != nil {
		return err
	}
	repo, err := l.repos.Open(p.Dir)
	if errors.Is(err, treehash.ErrNotInGit) {
		return nil // linuxkit: outside git the tag is "latest" and no hash build-arg is set
	}
	if err != nil {
		return err
	}
	p.InGit = true
	p.Dirty = l.opts.ForceDirty || extraDirty
	tree, err := askGit(repo, p, hashPath)
	if err != nil || p.Hash != "" {
		return err
	}
	p.Hash = tree
	if len(extraTrees) > 0 {
		sum := sha1.Sum([]byte(tree + strings.Join(extraTrees, "")))
		p.Hash = hex.EncodeToString(sum[:])
	}
	if p.Dirty {
		suffix, err := l.dirtySuffix(repo, p, extraDirty)
		if err != nil {
			return err
		}
		p.Hash += "-dirty-" + suffix
	}
	return nil
}

// askGit sets p.Commit and, for a package at HEAD not yet known to be dirty, p.Dirty, and returns the tree id of
// hashPath unless p.Hash is given. git answers each with its own process, so they are asked at once; errors are
// reported in that order (a repository without a commit is reported as such, not as a failed diff).
func askGit(repo *treehash.Repo, p *Package, hashPath string) (tree string, err error) {
	var wg sync.WaitGroup
	var dirtyErr, treeErr error
	if p.HashCommit == "HEAD" && !p.Dirty {
		wg.Add(1)
		go func() { defer wg.Done(); p.Dirty, dirtyErr = repo.IsDirty(hashPath) }()
	}
	if p.Hash == "" {
		wg.Add(1)
		go func() { defer wg.Done(); tree, treeErr = repo.TreeHash(hashPath, p.HashCommit) }()
	}
	p.Commit, err = repo.Head()
	wg.Wait()
	return tree, firstError(err, dirtyErr, treeErr)
}

// firstError is the first of errs that is not nil.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// extraSourceTrees returns each extra source's tree id and whether any has uncommitted changes. linuxkit never
// checks the latter, so two different builds could share one tag; lkpkg marks the package dirty instead.
func (l *Loader) extraSourceTrees(p *Package) (trees []string, dirty bool, err error) {
	for i, es := range p.ExtraSources {
		field := fmt.Sprintf("extra-sources[%d]", i)
		repo, err := l.repos.Open(es.Src)
		if errors.Is(err, treehash.ErrNotInGit) {
			return nil, false, p.Spec.errorf(field, "source %s is not in a git repository: extra sources are hashed into the tag, so they must be committed to git", es.Src)
		}
		if err != nil {
			return nil, false, p.Spec.errorf(field, "%v", err)
		}
		tree, err := repo.TreeHash(es.Src, p.HashCommit)
		if err != nil {
			return nil, false, p.Spec.errorf(field, "%v", err)
		}
		trees = append(trees, tree)
		if p.HashCommit == "HEAD" && !dirty {
			if dirty, err = repo.IsDirty(es.Src); err != nil {
				return nil, false, err
			}
		}
	}
	return trees, dirty, nil
}

// dirtySuffix is linuxkit's contentHash()[:7] of the package dir. When an extra source is dirty its contents are
// folded in too, so each distinct dirty state gets a distinct tag.
func (l *Loader) dirtySuffix(repo *treehash.Repo, p *Package, extraDirty bool) (string, error) {
	sum, err := repo.ContentHash(p.Dir)
	if err != nil {
		return "", err
	}
	if extraDirty {
		parts := []string{sum}
		for _, es := range p.ExtraSources {
			r, err := l.repos.Open(es.Src)
			if err != nil {
				return "", err
			}
			h, err := r.ContentHash(es.Src)
			if err != nil {
				return "", err
			}
			parts = append(parts, h)
		}
		combined := sha256.Sum256([]byte(strings.Join(parts, "")))
		sum = hex.EncodeToString(combined[:])
	}
	return sum[:7], nil
}

// validTag is the OCI distribution tag grammar.
var validTag = lazyRegexp(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

func (l *Loader) renderTag(p *Package) error {
	tmplText, source := p.Spec.Tag, p.Spec.File+": tag"
	if l.opts.Tag != "" {
		tmplText, source = l.opts.Tag, "--tag"
	}
	tmpl, err := template.New("tag").Option("missingkey=error").Parse(tmplText)
	if err != nil {
		return fmt.Errorf("%s: bad tag template %q: %w (the only field is {{.Hash}})", source, tmplText, err)
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, struct{ Hash string }{p.Hash}); err != nil {
		return fmt.Errorf("%s: bad tag template %q: %w (the only field is {{.Hash}})", source, tmplText, err)
	}
	p.TagName = b.String()
	if p.TagName == "" {
		p.TagName = "latest"
	}
	if !validTag().MatchString(p.TagName) {
		return fmt.Errorf("%s: template %q renders %q, which is not a valid image tag (letters, digits, _ . -; at most 128)", source, tmplText, p.TagName)
	}
	return nil
}

// checkName refuses an org or image that cannot name an image, before anything is hashed or built, naming
// where the bad value came from: BuildKit, the cache and registries would otherwise fail on it mid-build with
// "invalid reference format". The checks apply to the name as the cache writes it (docker.io/<org>/<image>).
func (l *Loader) checkName(p *Package) error {
	if reason := nameProblem(p.Org + "/x"); reason != "" {
		hint := "use lowercase letters, digits and the separators . _ -, optionally after a registry host (ghcr.io/me, localhost:5000/me)"
		switch {
		case l.opts.Org != "":
			source := l.opts.OrgSource
			if source == "" {
				source = "--org"
			}
			return fmt.Errorf("%s %q is not a valid org: %s; %s", source, p.Org, reason, hint)
		case l.opts.Dev:
			return fmt.Errorf("--dev uses the user name %q as the org, which is not a valid org: %s; pass --org too", p.Org, reason)
		}
		return p.Spec.errorf("org", "%q is not a valid org: %s; %s", p.Org, reason, hint)
	}
	if reason := nameProblem(p.Org + "/" + p.Image); reason != "" {
		return p.Spec.errorf("image", "%q is not a valid image name: %s; use lowercase letters, digits and the "+
			"separators . _ - and /, and set the tag with the tag field or --tag", p.Image, reason)
	}
	return nil
}

// nameProblem says why name, expanded as linuxkit expands it, is not a repository name without tag or digest
// ("" if it is one).
func nameProblem(name string) string {
	if strings.ContainsAny(name[strings.LastIndex(name, "/")+1:], ":@") {
		return "it carries a tag or digest"
	}
	_, err := reference.ParseNormalizedNamed(ExpandReference(name))
	switch {
	case err == nil:
		return ""
	case errors.Is(err, reference.ErrNameContainsUppercase) || strings.ToLower(name) != name:
		return "repository names must be lowercase"
	case errors.Is(err, reference.ErrNameTooLong):
		return fmt.Sprintf("the name is longer than %d characters", reference.RepositoryNameTotalLengthMax)
	}
	return "it is not of the form [registry/]component[/component…]"
}

// ReleaseFromGitTag is the release named by the one git tag on HEAD of the package's repository, for
// --release-from-git-tag. linuxkit turns any tag on HEAD into a release silently; lkpkg does it only when asked,
// and refuses when there is no tag or more than one.
func (l *Loader) ReleaseFromGitTag(p *Package) (string, error) {
	if !p.InGit {
		return "", fmt.Errorf("%s: --release-from-git-tag needs the package in git", p.Dir)
	}
	repo, err := l.repos.Open(p.Dir)
	if err != nil {
		return "", err
	}
	tags, err := repo.TagsAtHead()
	if err != nil {
		return "", err
	}
	switch len(tags) {
	case 0:
		return "", fmt.Errorf("%s: --release-from-git-tag: HEAD has no git tag; tag it or pass --release", p.Dir)
	case 1:
		return tags[0], nil
	}
	return "", fmt.Errorf("%s: --release-from-git-tag: HEAD has several tags (%s); pass --release with the one to use",
		p.Dir, strings.Join(tags, ", "))
}
