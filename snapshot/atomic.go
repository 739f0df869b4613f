package snapshot

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Modes are explicit because lkpkg may run with umask 0 (BuildKit's executor sets it): the cache is readable by
// everyone and writable by its owner only, as a linuxkit-written cache is under the usual umask 022.
const (
	filePerm os.FileMode = 0o644
	dirPerm  os.FileMode = 0o755
)

// WriteFileAtomic writes path through a temporary file in the same directory that is filled by write, fsynced,
// given mode perm and renamed over path, then fsyncs the directory. A reader, or a crash at any point, sees
// either the old file or the complete new one, never a truncated or partial one; on error the old file is left
// untouched and the temporary file is removed.
func WriteFileAtomic(path string, perm os.FileMode, write func(w io.Writer) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := write(f); err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	return syncDir(dir)
}

// syncDir makes a rename or unlink in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
