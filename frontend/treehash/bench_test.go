package treehash

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

// fortyPackages builds a repository of 40 package directories of a few files
// each. dirty modifies one file and adds one untracked file in every package.
func fortyPackages(b *testing.B, dirty bool) (*gitRepo, []string) {
	g := newGitRepo(b)
	g.write(".gitignore", "*.o\n")
	var dirs []string
	for i := range 40 {
		d := fmt.Sprintf("pkg/p%02d", i)
		g.write(d+"/build.yml", fmt.Sprintf("image: p%02d\n", i))
		g.write(d+"/Dockerfile", "FROM scratch\nCOPY . /\n")
		g.write(d+"/src/main.c", fmt.Sprintf("int main(void) { return %d; }\n", i))
		g.write(d+"/src/util.h", "#define X 1\n")
		dirs = append(dirs, g.path(d))
	}
	g.commitAll("forty packages")
	for i := range 40 {
		d := fmt.Sprintf("pkg/p%02d", i)
		g.write(d+"/src/main.o", "ignored object\n")
		if dirty {
			g.write(d+"/build.yml", fmt.Sprintf("image: p%02d-changed\n", i))
			g.write(d+"/NOTES", "untracked\n")
		}
	}
	return g, dirs
}

// BenchmarkTags40 is the tag computation of 40 packages from a fresh Repos:
// tree hash and dirty check, plus the content hash of dirty packages. The
// packages go one after the other, all at once (the git listings of the dirty
// check then overlap the tree lookups), or with all tree hashes in one batch.
func BenchmarkTags40(b *testing.B) {
	for _, dirty := range []bool{false, true} {
		for _, mode := range []string{"", "-concurrent", "-batched"} {
			name := map[bool]string{false: "clean", true: "dirty"}[dirty] + mode
			b.Run(name, func(b *testing.B) {
				_, dirs := fortyPackages(b, dirty)
				var procs int
				for b.Loop() {
					rs := New()
					errs := make([]error, len(dirs))
					var wg sync.WaitGroup
					if mode == "-batched" {
						r, err := rs.Open(dirs[0])
						if err != nil {
							b.Fatal(err)
						}
						if _, err := r.TreeHashes(dirs, "HEAD"); err != nil {
							b.Fatal(err)
						}
					}
					for i, d := range dirs {
						switch mode {
						case "-concurrent":
							wg.Go(func() { errs[i] = tag(rs, d, dirty, true) })
						case "-batched":
							errs[i] = tag(rs, d, dirty, false)
						default:
							errs[i] = tag(rs, d, dirty, true)
						}
					}
					wg.Wait()
					if err := errors.Join(errs...); err != nil {
						b.Fatal(err)
					}
					procs = rs.GitProcesses()
					if err := rs.Close(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(procs), "git-procs/op")
			})
		}
	}
}

func tag(rs *Repos, d string, wantDirty, treeHash bool) error {
	r, err := rs.Open(d)
	if err != nil {
		return err
	}
	if treeHash {
		if _, err := r.TreeHash(d, "HEAD"); err != nil {
			return err
		}
	}
	dirty, err := r.IsDirty(d)
	if err != nil {
		return err
	}
	if dirty != wantDirty {
		return fmt.Errorf("%s: dirty = %v", d, dirty)
	}
	if dirty {
		_, err = r.ContentHash(d)
	}
	return err
}

// BenchmarkTags40Linuxkit is the same work done linuxkit's way, one set of
// git processes per package, for comparison.
func BenchmarkTags40Linuxkit(b *testing.B) {
	for _, dirty := range []bool{false, true} {
		name := map[bool]string{false: "clean", true: "dirty"}[dirty]
		b.Run(name, func(b *testing.B) {
			_, dirs := fortyPackages(b, dirty)
			procs := 0
			for b.Loop() {
				procs = 0
				for _, d := range dirs {
					if _, err := gitIn(d, "rev-parse", "--is-inside-work-tree"); err != nil {
						b.Fatal(err)
					}
					isDirty := refIsDirty(b, d)
					procs += 2 // rev-parse, diff
					if !isDirty {
						procs++ // ls-files --others, only asked when diff is quiet
					}
					if _, err := refTreeHash(b, d, "HEAD"); err != nil {
						b.Fatal(err)
					}
					procs += 2
					if isDirty {
						refContentHash(b, d)
						procs += 2
					}
				}
			}
			b.ReportMetric(float64(procs), "git-procs/op")
		})
	}
}
