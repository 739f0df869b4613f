package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Full-disk tests: the state dir and the linuxkit cache on small tmpfs mounts, filled up. A build that runs out
// of space fails with one line naming the directory and what to do; once space is free again (or, for the
// state dir, with nothing done at all when the failed build itself filled it) the next build succeeds.

// smallFS mounts a tmpfs of size (such as "48m") on a fresh directory and returns its path; it is unmounted and
// removed when the test ends.
func smallFS(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts a small filesystem")
	}
	dir, err := os.MkdirTemp("", "lkpkg-small-fs")
	if err != nil {
		t.Fatal(err)
	}
	if dir, err = filepath.EvalSymlinks(dir); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0755"); err != nil {
		t.Fatalf("mount a %s tmpfs on %s: %v", size, dir, err)
	}
	t.Cleanup(func() {
		// A lazy unmount also detaches what a build may have left mounted below it; the test's result stands.
		_ = unix.Unmount(dir, unix.MNT_DETACH)
		_ = os.RemoveAll(dir)
	})
	return dir
}

// fill writes a file in dir until its filesystem is full, then gives back leave bytes of it; it returns the file.
func fill(t *testing.T, dir string, leave int64) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	var size int64
	for {
		n, err := f.Write(chunk)
		size += int64(n)
		if errors.Is(err, syscall.ENOSPC) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Truncate(max(0, size-leave)); err != nil {
		t.Fatal(err)
	}
	return path
}

// failsOutOfSpace checks that r failed, without a panic (lkpkg's helpers check that), on one error line that
// names dir as what ran out of space and says what to do.
func failsOutOfSpace(t *testing.T, r result, what, dir, fix string) {
	t.Helper()
	if r.code == 0 {
		t.Fatalf("the build succeeded on a full filesystem:\n%s", tail(r.stderr, 10))
	}
	var line string
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(l, "lkpkg: ") {
			line = l
		}
	}
	want := what + " " + dir + " ran out of space"
	if !strings.Contains(line, want) || !strings.Contains(line, fix) {
		t.Fatalf("error line %q; want it to say %q and %q\n%s", line, want, fix, tail(r.stderr, 10))
	}
}

// A filesystem filled by another program: the build fails naming the state dir; once the filler is gone the
// next build succeeds with nothing else done (no half-written marker or database discards or breaks the state).
func TestBuildStateDirFullThenFreed(t *testing.T) {
	e := newBuildEnv(t)
	e.state = smallFS(t, "64m")
	e.pkg("pkg/first", "image: first\narches: [amd64]\n", "FROM busybox:fixture\nRUN echo 1 > /n\n")
	e.pkg("pkg/second", "image: second\narches: [amd64]\n", "FROM busybox:fixture\nRUN echo 2 > /n\n")
	e.mustBuild(nil, "--offline", "pkg/first")

	filler := fill(t, e.state, 0)
	r := e.build(nil, "--offline", "pkg/second")
	failsOutOfSpace(t, r, "the build state directory", e.state, "lkpkg pkg builder prune")
	if strings.Contains(r.stderr, "stopped during an earlier build") {
		t.Fatalf("a full disk was taken for a crash:\n%s", tail(r.stderr, 10))
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	r = e.mustBuild(nil, "--offline", "pkg/second")
	if strings.Contains(r.stderr, "discarding the build state") {
		t.Errorf("the build after the full disk discarded the state:\n%s", tail(r.stderr, 10))
	}
	if got := e.file(e.tag("pkg/second"), "amd64", "n"); got != "2\n" {
		t.Errorf("pkg/second built after the disk was freed: /n is %q", got)
	}
	if ls := mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "ls"); !strings.Contains(ls, e.tag("pkg/first")) {
		t.Errorf("cache ls lost pkg/first:\n%s", ls)
	}
}

// A state dir created on a filesystem with only a few pages left: some of BuildKit's databases are created cut
// short. The build fails naming the state dir; once space is free the next build succeeds, the damaged state
// being discarded, instead of BuildKit refusing the database or dying of SIGBUS at every later start.
func TestBuildStateDirCreatedOnFullDisk(t *testing.T) {
	e := newBuildEnv(t)
	e.pkg("pkg/small", "image: small\narches: [amd64]\n", "FROM busybox:fixture\nRUN echo small > /n\n")
	discarded := 0
	for _, leave := range []int64{4 << 10, 8 << 10, 12 << 10, 28 << 10} {
		fs := smallFS(t, "8m")
		e.state = filepath.Join(fs, "state")
		filler := fill(t, fs, leave)
		failsOutOfSpace(t, e.build(nil, "--offline", "--force", "pkg/small"), "the build state directory", e.state,
			"lkpkg pkg builder prune")
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
		if r := e.mustBuild(nil, "--offline", "--force", "pkg/small"); strings.Contains(r.stderr, "is damaged") {
			discarded++
		}
	}
	if discarded == 0 {
		t.Fatal("no run left a database cut short: the space left no longer hits their creation, the test tests nothing")
	}
}

// A RUN step that fills the state dir itself: the build fails naming the state dir, and the next build succeeds
// with nothing done by hand, the failed step's snapshot being collected as the engine starts.
func TestBuildStateDirFilledByRun(t *testing.T) {
	e := newBuildEnv(t)
	e.state = smallFS(t, "48m")
	e.pkg("pkg/big", "image: big\narches: [amd64]\n", "FROM busybox:fixture\nRUN dd if=/dev/zero of=/big bs=1M count=100\n")
	e.pkg("pkg/small", "image: small\narches: [amd64]\n", "FROM busybox:fixture\nRUN echo small > /n\n")

	r := e.build(nil, "--offline", "pkg/big")
	failsOutOfSpace(t, r, "the build state directory", e.state, "lkpkg pkg builder prune")
	if !strings.Contains(r.stderr, "exit code: 1") {
		t.Errorf("the error does not say which step failed:\n%s", tail(r.stderr, 5))
	}

	r = e.mustBuild(nil, "--offline", "pkg/small")
	if !strings.Contains(r.stderr, "of build cache") {
		t.Errorf("no note of the build cache removed to make room:\n%s", tail(r.stderr, 10))
	}
	if got := e.file(e.tag("pkg/small"), "amd64", "n"); got != "small\n" {
		t.Errorf("pkg/small: /n is %q", got)
	}
}

// A linuxkit cache on a full filesystem: the build fails naming the cache, which keeps its index.json byte for
// byte, every entry and no partial file; once space is free the build succeeds and the cache is a valid layout.
func TestBuildCacheFullKeepsEntries(t *testing.T) {
	e := newBuildEnv(t)
	e.cache = smallFS(t, "16m")
	e.importFixture(e.cache)
	e.pkg("pkg/first", "image: first\narches: [amd64]\n", "FROM busybox:fixture\nRUN echo 1 > /n\n")
	// Random bytes: the layer does not compress below the space left.
	e.pkg("pkg/random", "image: random\narches: [amd64]\n", "FROM busybox:fixture\nRUN head -c 8000000 /dev/urandom > /r\n")
	e.mustBuild(nil, "--offline", "pkg/first")
	index, err := os.ReadFile(filepath.Join(e.cache, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	before := dirNames(e.cache)

	filler := fill(t, e.cache, 4<<20)
	r := e.build(nil, "--offline", "pkg/random")
	failsOutOfSpace(t, r, "the linuxkit cache", e.cache, "lkpkg cache rm")
	if after, err := os.ReadFile(filepath.Join(e.cache, "index.json")); err != nil || !bytes.Equal(after, index) {
		t.Errorf("index.json changed by a failed build (%v):\n%s", err, after)
	}
	if got, want := dirNames(e.cache), append(slices.Clone(before), "filler"); !slices.Equal(got, sorted(want)) {
		t.Errorf("the cache holds %v after the failed build, want %v", got, sorted(want))
	}
	blobsMatchNames(t, e.cache)
	ls := mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "ls")
	for _, want := range []string{"busybox:fixture", e.tag("pkg/first")} {
		if !strings.Contains(ls, want) {
			t.Errorf("cache ls lost %s:\n%s", want, ls)
		}
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	e.mustBuild(nil, "--offline", "pkg/random")
	if ls := mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "ls"); !strings.Contains(ls, e.tag("pkg/random")) {
		t.Errorf("cache ls has no pkg/random after space was freed:\n%s", ls)
	}
	checkOCILayout(t, e.cache)
	blobsMatchNames(t, e.cache)
}

func sorted(names []string) []string {
	slices.Sort(names)
	return names
}

// blobsMatchNames checks that every blob in the cache, referenced or not, hashes to its name: none is a partial
// write.
func blobsMatchNames(t *testing.T, cache string) {
	t.Helper()
	dir := filepath.Join(cache, "blobs", "sha256")
	for _, name := range dirNames(dir) {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != name {
			t.Errorf("blob %s holds content of digest %s: a partial write", name, got)
		}
	}
}
