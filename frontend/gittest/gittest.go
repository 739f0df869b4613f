// Package gittest makes scripted git repositories for tests and answers questions about them with the git CLI,
// the way linuxkit does, so tests compare lkpkg against an independent implementation.
package gittest

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Env isolates git from the user's and the machine's configuration and fixes the identity used for commits.
var Env = []string{"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
	"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}

// Repo is a git work tree in a test's temporary directory.
type Repo struct {
	t   testing.TB
	Dir string
}

// New initialises an empty repository with branch main.
func New(t testing.TB, initArgs ...string) *Repo {
	t.Helper()
	r := &Repo{t: t, Dir: t.TempDir()}
	r.Git(append([]string{"init", "-q", "-b", "main"}, initArgs...)...)
	return r
}

// Git runs git in the work tree and returns its trimmed output; it fails the test on error.
func (r *Repo) Git(args ...string) string {
	r.t.Helper()
	return r.GitIn(r.Dir, args...)
}

// GitIn runs git in dir.
func (r *Repo) GitIn(dir string, args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), Env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// Path is the absolute path of rel in the work tree.
func (r *Repo) Path(rel string) string { return filepath.Join(r.Dir, rel) }

// Write creates or replaces a file, making parent directories.
func (r *Repo) Write(rel, content string) {
	r.t.Helper()
	p := r.Path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// Commit stages everything and commits.
func (r *Repo) Commit() {
	r.t.Helper()
	r.Git("add", "-A")
	r.Git("commit", "-q", "-m", "c")
}

// LsTree is linuxkit's tree hash of a subdirectory: `git ls-tree --full-tree HEAD -- <dir>`.
func (r *Repo) LsTree(rel string) string {
	r.t.Helper()
	f := strings.Fields(r.Git("ls-tree", "--full-tree", "HEAD", "--", rel))
	if len(f) < 3 {
		r.t.Fatalf("ls-tree %s: %v", rel, f)
	}
	return f[2]
}

// RootTree is linuxkit's tree hash of a package at the repository top: the commit's root tree.
func (r *Repo) RootTree() string {
	r.t.Helper()
	return r.Git("show", "--format=%T", "-s", "HEAD")
}

// ContentHash is linuxkit's contentHash() of a package directory: sha256 of the contents of `git ls-files`, then
// of `git ls-files --exclude-standard --others`, run in that directory.
func (r *Repo) ContentHash(rel string) string {
	r.t.Helper()
	h := sha256.New()
	dir := r.Path(rel)
	for _, args := range [][]string{{"ls-files"}, {"ls-files", "--exclude-standard", "--others"}} {
		for _, f := range strings.Split(r.GitIn(dir, args...), "\n") {
			st, err := os.Lstat(filepath.Join(dir, f))
			if f == "" || err != nil || !st.Mode().IsRegular() {
				continue
			}
			b, _ := os.ReadFile(filepath.Join(dir, f))
			h.Write(b)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
