package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	gofs "io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/tonistiigi/fsutil"
	"github.com/tonistiigi/fsutil/types"
)

// ContextMount places a host directory inside the build context, as build.yml's extra-sources do.
type ContextMount struct {
	Src string // host directory
	Dst string // slash path relative to the context root
}

// contextFS returns the build context: dir, with each mount's directory shown at its destination (hiding
// whatever dir has there). A mount at the context root ("/" or ".") is laid over dir instead, its files
// replacing those of the same path, as the later entries of linuxkit's context tar do. Mounts apply in order.
// BuildKit's session applies .dockerignore and other filters on top of it.
func contextFS(dir string, mounts []ContextMount) (fsutil.FS, error) {
	base, err := fsutil.NewFS(dir)
	if err != nil {
		return nil, fmt.Errorf("build context %s: %w", dir, err)
	}
	if len(mounts) == 0 {
		return base, nil
	}
	m := &mountFS{base: base}
	for _, mt := range mounts {
		dst := path.Clean(strings.TrimPrefix(filepath.ToSlash(mt.Dst), "/"))
		if dst == ".." || strings.HasPrefix(dst, "../") {
			return nil, fmt.Errorf("extra source destination %q must be a directory inside the build context", mt.Dst)
		}
		fs, err := fsutil.NewFS(mt.Src)
		if err != nil {
			return nil, fmt.Errorf("extra source %s: %w", mt.Src, err)
		}
		root, err := fsutil.Stat(mt.Src)
		if err != nil {
			return nil, fmt.Errorf("extra source %s: %w", mt.Src, err)
		}
		if dst == "." {
			m.mounts = append(m.mounts, mountPoint{src: mt.Src, fs: fs})
			continue
		}
		root.Path = dst
		m.mounts = append(m.mounts, mountPoint{dst: dst, src: mt.Src, fs: fs, root: root})
	}
	return m, nil
}

type mountPoint struct {
	dst  string // "" for a mount laid over the context root
	src  string // host directory
	fs   fsutil.FS
	root *types.Stat // the mount point directory itself, which walking its FS does not report; nil at the root
}

// overlay reports whether the mount is laid over the context root rather than replacing a directory.
func (mt mountPoint) overlay() bool { return mt.dst == "" }

// mountFS overlays mount points on a base FS. fsutil requires Walk to visit paths in lexical order, so the
// entries of all layers are collected, merged and sorted before they are handed on; only metadata is held.
type mountFS struct {
	base   fsutil.FS
	mounts []mountPoint
}

func (m *mountFS) Walk(ctx context.Context, target string, fn gofs.WalkDirFunc) error {
	entries := map[string]*types.Stat{}
	if err := m.base.Walk(ctx, "", func(p string, e gofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		p = filepath.ToSlash(p)
		if m.hidden(p) {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		return addEntry(entries, p, "", e)
	}); err != nil {
		return err
	}
	for _, mt := range m.mounts {
		if !mt.overlay() {
			removeTree(entries, mt.dst) // what an earlier overlay put there is hidden too
			addParents(entries, mt.dst)
			entries[mt.dst] = mt.root.Clone()
		}
		if err := mt.fs.Walk(ctx, "", func(p string, e gofs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			p = path.Join(mt.dst, filepath.ToSlash(p))
			if old, ok := entries[p]; ok && mt.overlay() && !e.IsDir() && os.FileMode(old.Mode).IsDir() {
				removeTree(entries, p) // a file replacing a directory replaces all of it
			}
			return addEntry(entries, p, mt.dst, e)
		}); err != nil {
			return err
		}
	}
	return emitSorted(entries, walkTarget(target), fn)
}

// walkTarget normalises fsutil's Walk target: "", "." and "/" mean the whole tree.
func walkTarget(target string) string {
	t := strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(target)), "/")
	if t == "." {
		return ""
	}
	return t
}

// removeTree drops p and everything below it.
func removeTree(entries map[string]*types.Stat, p string) {
	for e := range entries {
		if e == p || strings.HasPrefix(e, p+"/") {
			delete(entries, e)
		}
	}
}

// hidden reports whether a base path is at or under a mount point that replaces a directory.
func (m *mountFS) hidden(p string) bool {
	for _, mt := range m.mounts {
		if !mt.overlay() && (p == mt.dst || strings.HasPrefix(p, mt.dst+"/")) {
			return true
		}
	}
	return false
}

func addEntry(entries map[string]*types.Stat, p, prefix string, e gofs.DirEntry) error {
	fi, err := e.Info()
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*types.Stat)
	if !ok {
		return &os.PathError{Op: "walk", Path: p, Err: syscall.EBADMSG}
	}
	st = st.Clone()
	st.Path = p
	if prefix != "" && st.Linkname != "" && fi.Mode()&os.ModeSymlink == 0 {
		st.Linkname = path.Join(prefix, st.Linkname) // hard links name paths inside the walked tree
	}
	entries[p] = st
	return nil
}

// addParents makes sure every directory leading to a mount point exists in the context.
func addParents(entries map[string]*types.Stat, dst string) {
	for dir := path.Dir(dst); dir != "."; dir = path.Dir(dir) {
		if _, ok := entries[dir]; !ok {
			entries[dir] = &types.Stat{Path: dir, Mode: uint32(os.ModeDir | 0o755)}
		}
	}
}

func emitSorted(entries map[string]*types.Stat, target string, fn gofs.WalkDirFunc) error {
	paths := make([]string, 0, len(entries))
	for p := range entries {
		if target == "" || p == target || strings.HasPrefix(p, target+"/") {
			paths = append(paths, p)
		}
	}
	// fsutil orders a directory before its children and siblings bytewise by path components.
	sort.Slice(paths, func(i, j int) bool { return componentLess(paths[i], paths[j]) })
	var skip string
	for _, p := range paths {
		if skip != "" && strings.HasPrefix(p, skip+"/") {
			continue
		}
		st := entries[p]
		err := fn(filepath.FromSlash(p), &fsutil.DirEntryInfo{Stat: st}, nil)
		if errors.Is(err, filepath.SkipDir) {
			skip = p
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// componentLess compares paths component by component, so "a/b" sorts before "a.b" as a directory walk does.
func componentLess(a, b string) bool {
	for {
		ah, at, aok := strings.Cut(a, "/")
		bh, bt, bok := strings.Cut(b, "/")
		if ah != bh {
			return ah < bh
		}
		if !aok || !bok {
			return !aok && bok
		}
		a, b = at, bt
	}
}

// Open reads p from the layer Walk took it from: the last mount that holds it.
func (m *mountFS) Open(p string) (io.ReadCloser, error) {
	sp := strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(p)), "/")
	for i := len(m.mounts) - 1; i >= 0; i-- {
		mt := m.mounts[i]
		if mt.overlay() {
			if _, err := os.Lstat(filepath.Join(mt.src, filepath.FromSlash(sp))); err == nil {
				return mt.fs.Open(filepath.FromSlash(sp))
			}
			continue
		}
		if rel, ok := strings.CutPrefix(sp, mt.dst+"/"); ok {
			return mt.fs.Open(filepath.FromSlash(rel))
		}
	}
	return m.base.Open(p)
}
