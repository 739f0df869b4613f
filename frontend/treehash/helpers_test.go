package treehash

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestMain isolates every git process (ours and the reference ones) from the
// user's and the system's git configuration.
func TestMain(m *testing.M) {
	for k, v := range map[string]string{
		"GIT_CONFIG_GLOBAL":   "/dev/null",
		"GIT_CONFIG_NOSYSTEM": "1",
		"GIT_AUTHOR_NAME":     "lkpkg test",
		"GIT_AUTHOR_EMAIL":    "test@lkpkg.invalid",
		"GIT_COMMITTER_NAME":  "lkpkg test",
		"GIT_COMMITTER_EMAIL": "test@lkpkg.invalid",
		"GIT_AUTHOR_DATE":     "2024-01-02T03:04:05Z",
		"GIT_COMMITTER_DATE":  "2024-01-02T03:04:05Z",
	} {
		os.Setenv(k, v)
	}
	for _, k := range []string{"GIT_DIR", "GIT_WORK_TREE", "GIT_CEILING_DIRECTORIES", "GIT_INDEX_FILE"} {
		os.Unsetenv(k)
	}
	os.Exit(m.Run())
}

// gitRepo is a scripted repository in a temporary directory.
type gitRepo struct {
	t   testing.TB
	dir string
}

func newGitRepo(t testing.TB, initArgs ...string) *gitRepo {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	g := &gitRepo{t: t, dir: dir}
	g.git(append([]string{"init", "-q", "-b", "main"}, initArgs...)...)
	return g
}

// git runs git in the repository and fails the test if it fails.
func (g *gitRepo) git(args ...string) string {
	g.t.Helper()
	out, err := gitIn(g.dir, args...)
	if err != nil {
		g.t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func gitIn(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), &gitError{args: args, stderr: stderr.String(), err: err}
	}
	return string(out), nil
}

func (g *gitRepo) path(rel string) string { return filepath.Join(g.dir, filepath.FromSlash(rel)) }

func (g *gitRepo) write(rel, content string) {
	g.t.Helper()
	p := g.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		g.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		g.t.Fatal(err)
	}
}

func (g *gitRepo) remove(rel string) {
	g.t.Helper()
	if err := os.RemoveAll(g.path(rel)); err != nil {
		g.t.Fatal(err)
	}
}

func (g *gitRepo) commitAll(msg string) {
	g.t.Helper()
	g.git("add", "-A")
	g.git("commit", "-q", "--allow-empty", "-m", msg)
}

// The reference answers below follow linuxkit's algorithm step by step with
// plain git commands (see /work/shared/reference/linuxkit-pkg.md §3).

var refTreeLine = regexp.MustCompile("^[0-7]{6} [^ ]+ ([0-9a-f]{40})\t.+\n$")

// refTreeHash: top level → `git show --format=%T -s <commit>`; otherwise the
// single line of `git ls-tree --full-tree <commit> -- <abs pkg>`.
func refTreeHash(t testing.TB, pkg, commit string) (string, error) {
	t.Helper()
	run := pkg
	if _, err := os.Stat(pkg); err != nil {
		// linuxkit cannot run git in a directory that is gone from the work
		// tree; treehash can still hash it at an older commit.
		run = filepath.Dir(pkg)
	}
	top, err := gitIn(run, "rev-parse", "--prefix", pkg, "--show-toplevel")
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(top) == pkg {
		out, err := gitIn(run, "show", "--format=%T", "-s", commit)
		return strings.TrimSpace(out), err
	}
	out, err := gitIn(run, "ls-tree", "--full-tree", commit, "--", pkg)
	if err != nil {
		return "", err
	}
	if out == "" {
		return "", errors.New("not in git")
	}
	m := refTreeLine.FindStringSubmatch(out)
	if m == nil {
		return "", errors.New("unparsable ls-tree output " + out)
	}
	return m[1], nil
}

// refIsDirty: `git diff --quiet HEAD -- pkg` failing, or
// `git ls-files --others --error-unmatch -- pkg` succeeding.
func refIsDirty(t testing.TB, pkg string) bool {
	t.Helper()
	_, err := gitIn(pkg, "diff", "--no-ext-diff", "--exit-code", "--quiet", "HEAD", "--", pkg)
	if exitCode(err) == 1 {
		return true
	}
	if err != nil {
		t.Fatalf("git diff: %v", err)
	}
	_, err = gitIn(pkg, "ls-files", "--exclude-standard", "--others", "--error-unmatch", "--", pkg)
	return err == nil
}

// refContentHash: sha256 of the contents of the files that `git ls-files` and
// then `git ls-files --exclude-standard --others`, run in pkg, print, taking
// their text output literally.
func refContentHash(t testing.TB, pkg string) string {
	t.Helper()
	tracked, err := gitIn(pkg, "ls-files")
	if err != nil {
		t.Fatal(err)
	}
	others, err := gitIn(pkg, "ls-files", "--exclude-standard", "--others")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.TrimSpace(tracked + "\n" + others)
	h := sha256.New()
	if text != "" {
		for _, name := range strings.Split(text, "\n") {
			p := filepath.Join(pkg, strings.TrimSuffix(name, "\r"))
			fi, err := os.Lstat(p)
			if err != nil || fi.IsDir() || fi.Mode()&os.ModeSymlink != 0 {
				continue
			}
			b, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			h.Write(b)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
