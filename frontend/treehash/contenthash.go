package treehash

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ContentHash returns linuxkit's contentHash() of dir, the suffix of a dirty
// tag (callers use the first 7 hex digits): the SHA-256 of the contents of
// the files `git ls-files` lists when run in dir, then of those
// `git ls-files --exclude-standard --others` lists, in git's order. File names
// and modes are not hashed; directories, symlinks and files that cannot be
// opened are skipped.
//
// It reproduces linuxkit byte for byte, including that linuxkit reads git's
// quoted output: a name git prints in C quotes (control characters, '"', '\',
// and non-ASCII unless core.quotePath is false) does not exist under its quoted
// spelling, so its content is skipped; and the whole listing is space-trimmed
// before it is split into lines. Deciding whether git quotes a non-ASCII name
// costs one `git config` process per repository.
func (r *Repo) ContentHash(dir string) (string, error) {
	rel, err := r.rel(dir)
	if err != nil {
		return "", err
	}
	_, real, err := resolve(dir)
	if err != nil {
		return "", err
	}
	tracked, err := r.tracked()
	if err != nil {
		return "", err
	}
	untracked, err := r.untracked()
	if err != nil {
		return "", err
	}
	// Rebuild the two stdouts linuxkit reads: `git -C dir ls-files` and
	// `git -C dir ls-files --exclude-standard --others`.
	trackedOut, err := r.lsFilesOutput(under(tracked, rel))
	if err != nil {
		return "", err
	}
	untrackedOut, err := r.lsFilesOutput(under(untracked, rel))
	if err != nil {
		return "", err
	}
	return hashListedFiles(real, trackedOut, untrackedOut)
}

// hashListedFiles hashes the files named in two ls-files outputs the way
// linuxkit does: it joins them with a newline, trims white space from both
// ends of the whole text, and reads it line by line (a trailing "\r" is not
// part of a line), each line naming a file relative to dir.
func hashListedFiles(dir, trackedOut, untrackedOut string) (string, error) {
	listing := strings.TrimSpace(trackedOut + "\n" + untrackedOut)
	sum := sha256.New()
	if listing == "" {
		return hex.EncodeToString(sum.Sum(nil)), nil
	}
	for _, line := range strings.Split(listing, "\n") {
		if err := hashRegularFile(sum, filepath.Join(dir, strings.TrimSuffix(line, "\r"))); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(sum.Sum(nil)), nil
}

// hashRegularFile adds the contents of path to w. Directories, symlinks and
// paths that are gone or cannot be opened add nothing.
func hashRegularFile(w io.Writer, path string) error {
	fi, err := os.Lstat(path)
	if err != nil || fi.IsDir() || fi.Mode()&os.ModeSymlink != 0 {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("cannot read %s for the content hash: %w", path, err)
	}
	return nil
}

// lsFilesOutput renders names the way `git ls-files` without -z prints them.
func (r *Repo) lsFilesOutput(names []string) (string, error) {
	var b strings.Builder
	for _, n := range names {
		quoteFully := true
		if hasHighBit(n) {
			var err error
			if quoteFully, err = r.quotePath(); err != nil {
				return "", err
			}
		}
		b.WriteString(quoteC(n, quoteFully))
		b.WriteByte('\n')
	}
	return b.String(), nil
}

func (r *Repo) loadQuotePath() (bool, error) {
	out, err := r.rs.run(r.top, "config", "--bool", "core.quotePath")
	if exitCode(err) == 1 && len(out) == 0 {
		return true, nil // unset: git's default
	}
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(string(out)) != "false", nil
}

func hasHighBit(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return true
		}
	}
	return false
}

// quoteC is git's quote_c_style() for path names: names with a byte that
// needs quoting are printed in double quotes with C escapes.
func quoteC(name string, quoteFully bool) string {
	must := func(c byte) bool {
		return c < 0x20 || c == '"' || c == '\\' || c == 0x7f || (c >= 0x80 && quoteFully)
	}
	i := 0
	for i < len(name) && !must(name[i]) {
		i++
	}
	if i == len(name) {
		return name
	}
	var b strings.Builder
	b.WriteByte('"')
	b.WriteString(name[:i])
	for ; i < len(name); i++ {
		c := name[i]
		if !must(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('\\')
		switch c {
		case '\a':
			b.WriteByte('a')
		case '\b':
			b.WriteByte('b')
		case '\t':
			b.WriteByte('t')
		case '\n':
			b.WriteByte('n')
		case '\v':
			b.WriteByte('v')
		case '\f':
			b.WriteByte('f')
		case '\r':
			b.WriteByte('r')
		case '"', '\\':
			b.WriteByte(c)
		default:
			b.WriteByte('0' + c>>6&3)
			b.WriteByte('0' + c>>3&7)
			b.WriteByte('0' + c&7)
		}
	}
	b.WriteByte('"')
	return b.String()
}
