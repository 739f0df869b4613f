// Package treehash answers the git questions behind LinuxKit package tags —
// the tree id of a package directory at a commit, whether it is dirty, and the
// content hash of a dirty package — for many packages at the price of a few git
// processes per repository instead of a dozen per package.
//
// Per repository it runs one `git rev-parse` to confirm the repository, one
// long-lived `git cat-file --batch-check` for every tree lookup, and, only when
// asked, one `git diff` plus one `git ls-files --others` for dirtiness and one
// `git ls-files` for content hashes. Everything else (finding the repository,
// path arithmetic, reading file contents) happens in-process.
//
// A Repos is a snapshot: listings are taken once and reused, so create a new
// one to observe later changes to the work tree. All methods are safe for
// concurrent use.
package treehash

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
)

// ErrNotInGit is returned (wrapped, test with errors.Is) by Repos.Open when a
// directory is not inside a git work tree. linuxkit then tags the package
// "latest" instead of with a tree hash.
var ErrNotInGit = errors.New("not inside a git work tree")

// ErrUnsupportedObjectFormat is returned (wrapped, test with errors.Is) for
// repositories whose object ids are not SHA-1.
var ErrUnsupportedObjectFormat = errors.New("unsupported git object format")

type objectFormatError struct {
	dir, format string
}

func (e *objectFormatError) Error() string {
	name := strings.ToUpper(e.format)
	if e.format == "sha256" {
		name = "SHA-256"
	}
	return fmt.Sprintf("%s: repository uses %s objects, which lkpkg does not support yet (linuxkit tags are SHA-1 tree ids)", e.dir, name)
}

func (e *objectFormatError) Is(target error) bool { return target == ErrUnsupportedObjectFormat }

// Repos is a cache of git repositories keyed by their top-level directory.
// The zero value is not usable; call New. Call Close when done to stop the
// long-lived git processes.
type Repos struct {
	procs atomic.Int64 // git processes started, for tests and benchmarks

	prefetchDirty atomic.Bool // see PrefetchDirty

	mu     sync.Mutex
	repos  map[string]*Repo // by resolved top-level dir and by resolved .git location dir
	closed bool
}

// New returns an empty repository cache.
func New() *Repos {
	return &Repos{repos: map[string]*Repo{}}
}

// Close stops the git processes of every repository opened so far. Repos and
// their Repo values must not be used afterwards.
func (rs *Repos) Close() error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.closed = true
	var errs []error
	seen := map[*Repo]bool{}
	for _, r := range rs.repos {
		if seen[r] {
			continue
		}
		seen[r] = true
		errs = append(errs, r.cat.close())
	}
	return errors.Join(errs...)
}

// PrefetchDirty tells Open that every repository it opens will be asked whether a directory is dirty (packages
// at HEAD), so the two listings that answer it may start while git confirms the repository.
func (rs *Repos) PrefetchDirty() { rs.prefetchDirty.Store(true) }

// GitProcesses returns how many git processes this cache has started, for
// diagnostics: a clean 40-package repository costs 4.
func (rs *Repos) GitProcesses() int { return int(rs.procs.Load()) }

// Open returns the repository whose work tree contains dir (a directory or a
// file). The result is cached: opening any number of directories of one
// repository costs one git process in total.
//
// Errors: ErrNotInGit (wrapped) when dir is in no work tree;
// ErrUnsupportedObjectFormat (wrapped) for SHA-256 repositories.
func (rs *Repos) Open(dir string) (*Repo, error) {
	abs, real, err := resolve(dir)
	if err != nil {
		return nil, err
	}
	// git runs in the nearest existing directory: dir may be a file (an
	// extra source), or gone from the work tree (hashed at an older commit).
	start := real
	for {
		if fi, err := os.Stat(start); err == nil && fi.IsDir() {
			break
		}
		parent := filepath.Dir(start)
		if parent == start {
			break
		}
		start = parent
	}

	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.closed {
		return nil, errors.New("treehash: Repos used after Close")
	}

	// git's own discovery can be redirected by the environment; then ask git
	// about every directory (still one process per directory, cached).
	key := start
	redirected := gitEnvOverrides()
	if !redirected {
		cand, ok := findWorkTree(start)
		if !ok {
			return nil, fmt.Errorf("%s: %w", dir, ErrNotInGit)
		}
		if rel, err := filepath.Rel(cand, real); err == nil && firstElem(rel) == ".git" {
			return nil, fmt.Errorf("%s is inside the .git directory of %s, not in its work tree", dir, cand)
		}
		key = cand
	}
	if r := rs.repos[key]; r != nil {
		return r, nil
	}
	// The nearest ".git" is git's answer unless the environment redirects it: the questions that follow rev-parse
	// start with it and are kept only if rev-parse agrees.
	var guess *Repo
	if !redirected {
		guess = rs.guess(key)
	}

	out, err := rs.run(start, "rev-parse", "--is-inside-work-tree", "--show-toplevel", "--show-object-format")
	if err != nil {
		guess.discard()
		if redirected && exitCode(err) > 0 {
			return nil, fmt.Errorf("%s: %w (%w)", dir, ErrNotInGit, err)
		}
		return nil, fmt.Errorf("%s: cannot use the git repository here (fix it, or move the package out of it): %w", dir, err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) < 3 || lines[0] != "true" {
		guess.discard()
		// linuxkit fails here too, rather than tagging the package "latest".
		return nil, fmt.Errorf("%s is not in the work tree of its git repository (git rev-parse said %q)", abs, out)
	}
	format := lines[len(lines)-1]
	top := strings.Join(lines[1:len(lines)-1], "\n") // a top-level path may itself hold a newline
	if format == "--show-object-format" {
		format = "sha1" // git before 2.25 knows no other format
	}
	if format != "sha1" {
		guess.discard()
		return nil, &objectFormatError{dir: dir, format: format}
	}
	if t, err := filepath.EvalSymlinks(top); err == nil {
		top = t
	}
	r := rs.repos[top]
	switch {
	case r != nil:
		guess.discard()
	case guess != nil && guess.top == top:
		r = guess
	default:
		guess.discard()
		r = newRepo(rs, top)
	}
	rs.repos[top] = r
	rs.repos[key] = r
	return r, nil
}

// guess starts, for the work tree git will most likely confirm at top, the cat-file process every package's HEAD
// and tree lookups need and, when PrefetchDirty was called, the dirty listings.
func (rs *Repos) guess(top string) *Repo {
	r := newRepo(rs, top)
	go func() { _, _ = r.cat.lookup("HEAD^{commit}") }()
	if rs.prefetchDirty.Load() {
		go func() { _, _ = r.dirty() }()
	}
	return r
}

// discard stops a guessed repository's cat-file process; its listings, if started, end by themselves.
func (r *Repo) discard() {
	if r != nil {
		go func() { _ = r.cat.close() }()
	}
}

// gitEnvOverrides reports whether the environment changes how git finds the
// repository, so that walking up for ".git" would not give git's answer.
func gitEnvOverrides() bool {
	for _, v := range []string{"GIT_DIR", "GIT_WORK_TREE", "GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM"} {
		if os.Getenv(v) != "" {
			return true
		}
	}
	return false
}

// findWorkTree walks up from dir (resolved, absolute) to the nearest directory
// holding a ".git" directory or gitfile, as git's discovery does.
func findWorkTree(dir string) (string, bool) {
	for {
		if isGitEntry(filepath.Join(dir, ".git")) {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// isGitEntry reports whether p looks like a repository's ".git": a directory
// with a HEAD, or a "gitdir: " file (linked work trees, submodules).
func isGitEntry(p string) bool {
	fi, err := os.Stat(p)
	if err != nil {
		return false
	}
	if fi.IsDir() {
		_, err := os.Stat(filepath.Join(p, "HEAD"))
		return err == nil
	}
	if !fi.Mode().IsRegular() {
		return false
	}
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, 8)
	n, _ := f.Read(buf)
	return string(buf[:n]) == "gitdir: "
}

// resolve returns dir made absolute, and that path with every symlink
// resolved. Trailing parts that do not exist (a package deleted from the work
// tree but hashed at an older commit) are kept as they are.
func resolve(dir string) (abs, real string, err error) {
	abs, err = filepath.Abs(dir)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", dir, err)
	}
	real, err = evalExisting(abs)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", dir, err)
	}
	return abs, real, nil
}

func evalExisting(p string) (string, error) {
	r, err := filepath.EvalSymlinks(p)
	if err == nil {
		return r, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	parent := filepath.Dir(p)
	if parent == p {
		return p, nil
	}
	rp, err := evalExisting(parent)
	if err != nil {
		return "", err
	}
	return filepath.Join(rp, filepath.Base(p)), nil
}

func firstElem(rel string) string {
	if i := strings.IndexByte(rel, filepath.Separator); i >= 0 {
		return rel[:i]
	}
	return rel
}
