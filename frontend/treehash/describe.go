package treehash

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Description is what a Go module version of HEAD is made from.
type Description struct {
	Commit     string    // HEAD commit id
	CommitTime time.Time // HEAD committer time, UTC
	LastTag    string    // nearest semver-looking tag (vX.Y.Z…) reachable from HEAD, or ""
	TagAtHead  bool      // LastTag points at HEAD itself
}

// describeRE parses `git describe --long`: <tag>-<commits since>-g<abbrev>.
var describeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(.+)-(\d+)-g[0-9a-f]+$`) })

// Describe reports HEAD's commit, its time and the nearest semver tag, in two git processes per repository.
func (r *Repo) Describe() (Description, error) { return r.describe() }

func (r *Repo) loadDescription() (Description, error) {
	type result struct {
		out []byte
		err error
	}
	described := make(chan result, 1) // the two git processes run side by side
	go func() {
		out, err := r.rs.run(r.top, "describe", "--tags", "--long", "--match", "v[0-9]*.[0-9]*.[0-9]*", "HEAD")
		described <- result{out, err}
	}()
	out, err := r.rs.run(r.top, "log", "-1", "--format=%H %ct", "HEAD")
	desc := <-described
	if err != nil {
		return Description{}, fmt.Errorf("%s: cannot read HEAD: %w", r.top, err)
	}
	fields := strings.Fields(string(out))
	if len(fields) != 2 {
		return Description{}, fmt.Errorf("%s has no commit yet: commit the package first", r.top)
	}
	secs, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		return Description{}, fmt.Errorf("unexpected git log output %q", out)
	}
	d := Description{Commit: fields[0], CommitTime: time.Unix(secs, 0).UTC()}
	// No matching tag is not an error: describe exits non-zero and the version is based on v0.0.0.
	if desc.err == nil {
		if m := describeRE().FindStringSubmatch(strings.TrimSpace(string(desc.out))); m != nil {
			d.LastTag, d.TagAtHead = m[1], m[2] == "0"
		}
	}
	return d, nil
}

// TagsAtHead lists the tags pointing at HEAD, sorted.
func (r *Repo) TagsAtHead() ([]string, error) {
	out, err := r.rs.run(r.top, "tag", "--list", "--points-at", "HEAD")
	if err != nil {
		return nil, fmt.Errorf("%s: listing tags at HEAD: %w", r.top, err)
	}
	return strings.Fields(string(out)), nil
}
