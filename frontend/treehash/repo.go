package treehash

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Repo is one git work tree, as returned by Repos.Open. Directory arguments
// may be relative to the current directory and may go through symlinks; they
// must lie in this work tree and not in a repository nested inside it.
type Repo struct {
	rs  *Repos
	top string // resolved, absolute
	cat *catFile

	relMu sync.Mutex
	rels  map[string]string // directory argument → slash path relative to top

	// Whole-repository listings, slash paths relative to the top level,
	// each computed at most once.
	changed   func() ([]string, error) // tracked files differing from HEAD, staged or not
	untracked func() ([]string, error) // untracked files that are not ignored, in git's order
	tracked   func() ([]string, error) // the index, in git's order
	dirty     func() ([]string, error) // changed and untracked, sorted, for prefix tests
	quotePath func() (bool, error)
	describe  func() (Description, error)
}

func newRepo(rs *Repos, top string) *Repo {
	r := &Repo{rs: rs, top: top, cat: &catFile{rs: rs, dir: top}, rels: map[string]string{}}
	r.changed = sync.OnceValues(r.loadChanged)
	r.untracked = sync.OnceValues(r.loadUntracked)
	r.tracked = sync.OnceValues(r.loadTracked)
	r.dirty = sync.OnceValues(r.loadDirty)
	r.quotePath = sync.OnceValues(r.loadQuotePath)
	r.describe = sync.OnceValues(r.loadDescription)
	return r
}

// Toplevel returns the work tree's top-level directory, with symlinks resolved.
func (r *Repo) Toplevel() string { return r.top }

// IsTop reports whether dir is the top level of the work tree, in which case
// its tree hash is the root tree of the commit.
func (r *Repo) IsTop(dir string) bool {
	rel, err := r.rel(dir)
	return err == nil && rel == ""
}

// Head returns the commit id HEAD points to.
func (r *Repo) Head() (string, error) {
	obj, err := r.cat.lookup("HEAD^{commit}")
	if err != nil {
		return "", err
	}
	if !obj.found {
		return "", fmt.Errorf("%s has no commit yet: commit the package first", r.top)
	}
	return obj.oid, nil
}

// TreeHash returns the git object id of dir at commit ("" means HEAD): the id
// `git ls-tree --full-tree <commit> -- <dir>` lists (a tree, or whatever else
// the path names there, as linuxkit takes it), or the commit's root tree when
// dir is the top level. Only committed content counts.
func (r *Repo) TreeHash(dir, commit string) (string, error) {
	ids, err := r.TreeHashes([]string{dir}, commit)
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// TreeHashes is TreeHash for many directories of the repository in one
// exchange with git; it fails on the first directory that has no tree hash.
func (r *Repo) TreeHashes(dirs []string, commit string) ([]string, error) {
	if commit == "" {
		commit = "HEAD"
	}
	if strings.ContainsAny(commit, "\n\r\x00") || strings.HasPrefix(commit, "-") {
		return nil, fmt.Errorf("invalid commit %q: give a branch, tag or commit id", commit)
	}
	rels := make([]string, len(dirs))
	var names []string // object names for cat-file
	var asked []int    // index into dirs of each name
	for i, dir := range dirs {
		rel, err := r.rel(dir)
		if err != nil {
			return nil, err
		}
		rels[i] = rel
		switch {
		case rel == "":
			names = append(names, commit+"^{tree}")
		case strings.ContainsAny(rel, "\n\r"):
			continue // cat-file's line protocol cannot carry it
		default:
			names = append(names, commit+":"+rel)
		}
		asked = append(asked, i)
	}
	// The commit itself comes last: it tells a missing path from a missing commit.
	objs, err := r.cat.lookupAll(append(names, commit+"^{tree}"))
	if err != nil {
		return nil, err
	}
	if !objs[len(objs)-1].found {
		return nil, r.missingCommit(commit)
	}
	ids := make([]string, len(dirs))
	for j, i := range asked {
		if objs[j].found {
			ids[i] = objs[j].oid
		}
	}
	for i, dir := range dirs {
		if ids[i] != "" {
			continue
		}
		// Missing, a submodule (whose commit is not in this repository), or
		// a name cat-file cannot carry: ask ls-tree, as linuxkit does.
		if ids[i], err = r.lsTree(dir, rels[i], commit); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

func (r *Repo) missingCommit(commit string) error {
	if commit == "HEAD" {
		return fmt.Errorf("%s has no commit yet: commit the package first", r.top)
	}
	return fmt.Errorf("commit %q does not exist in %s: check the hash commit (fetch it, or use a branch, tag or commit id of this repository)", commit, r.top)
}

func (r *Repo) lsTree(dir, rel, commit string) (string, error) {
	out, err := r.rs.run(r.top, "--literal-pathspecs", "ls-tree", "-z", "--full-tree", commit, "--", rel)
	if err != nil {
		return "", err
	}
	entries := splitZ(out)
	if len(entries) == 0 {
		return "", fmt.Errorf("package %s is not in git (commit it first)", dir)
	}
	// "<mode> SP <type> SP <object> TAB <path>"
	meta, path, ok := strings.Cut(entries[0], "\t")
	f := strings.Fields(meta)
	if len(entries) != 1 || !ok || path != rel || len(f) != 3 || !isHex(f[2]) {
		return "", fmt.Errorf("unable to parse git ls-tree output for %s: %q", dir, out)
	}
	return f[2], nil
}

// IsDirty reports whether dir differs from HEAD: a tracked file under it is
// modified, staged or deleted (`git diff --quiet HEAD -- dir` fails), or it
// holds untracked files that are not ignored; ignored files never count.
// It only makes sense for HEAD: linuxkit never calls a package dirty when the
// hash commit is not literally "HEAD" (even when it names the same commit).
//
// All directories share two whole-repository listings. A directory whose name
// git reads as a glob ("pkg/a*") is asked the way linuxkit asks, with two git
// processes, because linuxkit's pathspec also covers its namesakes.
func (r *Repo) IsDirty(dir string) (bool, error) {
	rel, err := r.rel(dir)
	if err != nil {
		return false, err
	}
	if strings.ContainsAny(rel, "*?[\\") {
		return r.isDirtyGlob(rel)
	}
	dirty, err := r.dirty()
	if err != nil {
		return false, err
	}
	return hasUnder(dirty, rel), nil
}

// isDirtyGlob asks git the way linuxkit does, for a directory whose name git
// reads as a glob pattern: linuxkit's pathspec "pkg/a*" also covers "pkg/ab".
func (r *Repo) isDirtyGlob(rel string) (bool, error) {
	if _, err := r.Head(); err != nil {
		return false, err
	}
	pathspec := filepath.Join(r.top, filepath.FromSlash(rel)) // absolute, as linuxkit: no ":" magic
	_, err := r.rs.run(r.top, "diff", "--no-ext-diff", "--exit-code", "--quiet", "HEAD", "--", pathspec)
	if exitCode(err) == 1 {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	_, err = r.rs.run(r.top, "ls-files", "--exclude-standard", "--others", "--error-unmatch", "--", pathspec)
	if exitCode(err) == 1 {
		return false, nil
	}
	return err == nil, err
}

// loadDirty merges the changed and the untracked files, listing both at once while HEAD is looked up: a
// repository without a commit is reported as such rather than as diff's failure.
func (r *Repo) loadDirty() ([]string, error) {
	var wg sync.WaitGroup
	var changed []string
	var changedErr error
	wg.Add(2)
	go func() { defer wg.Done(); _, _ = r.untracked() }()
	go func() { defer wg.Done(); changed, changedErr = r.changed() }()
	_, headErr := r.Head()
	wg.Wait()
	if headErr != nil {
		return nil, headErr
	}
	if changedErr != nil {
		return nil, changedErr
	}
	untracked, err := r.untracked()
	if err != nil {
		return nil, err
	}
	all := append(slices.Clip(changed), untracked...)
	sort.Strings(all)
	return all, nil
}

func (r *Repo) loadChanged() ([]string, error) {
	out, err := r.rs.run(r.top, "diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", "HEAD", "--")
	if err != nil {
		return nil, fmt.Errorf("cannot tell whether %s has uncommitted changes: %w", r.top, err)
	}
	return splitZ(out), nil
}

func (r *Repo) loadUntracked() ([]string, error) {
	out, err := r.rs.run(r.top, "ls-files", "-z", "--others", "--exclude-standard")
	if err != nil {
		return nil, fmt.Errorf("cannot list the untracked files of %s: %w", r.top, err)
	}
	return splitZ(out), nil
}

// hasUnder reports whether sorted holds rel itself or a path below it ("a/b"
// is below "a", "a/bc" is not below "a/b"). rel "" is the whole repository.
func hasUnder(sorted []string, rel string) bool {
	if rel == "" {
		return len(sorted) > 0
	}
	i := sort.SearchStrings(sorted, rel)
	if i < len(sorted) && sorted[i] == rel {
		return true
	}
	prefix := rel + "/"
	i = sort.SearchStrings(sorted, prefix)
	return i < len(sorted) && strings.HasPrefix(sorted[i], prefix)
}

// under returns, in order, the paths of list below rel, relative to rel.
func under(list []string, rel string) []string {
	if rel == "" {
		return list
	}
	prefix := rel + "/"
	var out []string
	for _, p := range list {
		if strings.HasPrefix(p, prefix) {
			out = append(out, p[len(prefix):])
		}
	}
	return out
}

func (r *Repo) loadTracked() ([]string, error) {
	out, err := r.rs.run(r.top, "ls-files", "-z")
	if err != nil {
		return nil, fmt.Errorf("cannot list the tracked files of %s: %w", r.top, err)
	}
	return splitZ(out), nil
}

// LastChange returns the committer time of the last commit up to commit (""
// means HEAD) that touched dir, as `git log -1 --format=%ct <commit> -- dir`.
func (r *Repo) LastChange(dir, commit string) (time.Time, error) {
	if commit == "" {
		commit = "HEAD"
	}
	rel, err := r.rel(dir)
	if err != nil {
		return time.Time{}, err
	}
	args := []string{"--literal-pathspecs", "log", "-1", "--format=%ct", commit, "--"}
	if rel != "" {
		args = append(args, rel)
	}
	out, err := r.rs.run(r.top, args...)
	if err != nil {
		return time.Time{}, err
	}
	s := strings.TrimSpace(string(out))
	if s == "" {
		return time.Time{}, fmt.Errorf("package %s is not in git (commit it first)", dir)
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("unexpected git log output for %s: %q", dir, s)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// rel returns dir relative to the top level, slash-separated, "" at the top.
func (r *Repo) rel(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("%s: %w", dir, err)
	}
	r.relMu.Lock()
	rel, ok := r.rels[abs]
	r.relMu.Unlock()
	if ok {
		return rel, nil
	}
	_, real, err := resolve(abs)
	if err != nil {
		return "", err
	}
	rel, err = filepath.Rel(r.top, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%s is not inside the git work tree %s", dir, r.top)
	}
	if rel == "." {
		rel = ""
	}
	if firstElem(rel) == ".git" {
		return "", fmt.Errorf("%s is inside the .git directory of %s, not in its work tree", dir, r.top)
	}
	// A repository nested below the top level owns everything under it.
	if !gitEnvOverrides() {
		for d := filepath.Dir(real); len(d) > len(r.top); d = filepath.Dir(d) {
			if isGitEntry(filepath.Join(d, ".git")) {
				return "", fmt.Errorf("%s belongs to the git repository at %s, not %s: open it on its own", dir, d, r.top)
			}
		}
		if rel != "" {
			if fi, err := os.Stat(real); err == nil && fi.IsDir() && isGitEntry(filepath.Join(real, ".git")) {
				return "", fmt.Errorf("%s is a git repository of its own, not part of %s: open it on its own", dir, r.top)
			}
		}
	}
	rel = filepath.ToSlash(rel)
	r.relMu.Lock()
	r.rels[abs] = rel
	r.relMu.Unlock()
	return rel, nil
}
