package executor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// BuildKit commits every transaction of its metadata databases (containerd's content metadata, the cache
// records, the overlay snapshotter's metadata, the build history) with fdatasync: about 1,150 of them in a cold
// build of the examples, seconds on an ordinary virtual disk, more than the rest of the engine's overhead.
// lkpkg's state directory is a cache (the linuxkit cache, written durably, is the source of truth), and a killed
// process loses nothing that reached the page cache, so those databases commit without syncing while the engine
// runs and are synced once when it closes. Only a machine crash during a build can leave them torn: a marker
// holding the boot ID is on disk while they are unsynced, and an engine that finds a marker from another boot
// discards the state before BuildKit reads it.

// unsyncedMarker names the file that is present, holding the boot ID, while the state's databases may hold
// commits that are not on disk.
const unsyncedMarker = "unsynced-since-boot"

// bootIDFile holds an ID the kernel draws anew at every boot.
var bootIDFile = "/proc/sys/kernel/random/boot_id"

func bootID() (string, error) {
	b, err := os.ReadFile(bootIDFile)
	if err != nil {
		return "", err
	}
	id := strings.TrimSpace(string(b))
	if id == "" {
		return "", fmt.Errorf("%s is empty", bootIDFile)
	}
	return id, nil
}

// discardTornState empties stateDir (all but the lock) when an engine of an earlier boot left its databases
// unsynced: the machine went down mid-build, so they may be torn.
func discardTornState(stateDir string, messages io.Writer) error {
	marker, err := os.ReadFile(filepath.Join(stateDir, unsyncedMarker))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", filepath.Join(stateDir, unsyncedMarker), err)
	}
	if id, err := bootID(); err == nil && id == string(bytes.TrimSpace(marker)) {
		return nil // only the process died: everything it wrote is in the page cache
	}
	fmt.Fprintf(messages, "the machine stopped during an earlier build; discarding the build state in %s (the linuxkit cache is intact)\n", stateDir)
	return discardState(stateDir)
}

// discardState empties stateDir but for its lock.
func discardState(stateDir string) error {
	entries, err := os.ReadDir(stateDir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() == lockFileName {
			continue
		}
		if err := os.RemoveAll(filepath.Join(stateDir, e.Name())); err != nil {
			return fmt.Errorf("discard build state: %w (remove %s by hand)", err, stateDir)
		}
	}
	return nil
}

// discardDamagedState empties stateDir (all but the lock) when one of its databases is cut short, or a worker's
// ID file is empty, as creating them on a full disk leaves them: BuildKit would refuse it ("file size too small") at every
// start, or die of SIGBUS reading a page past its end, and the databases only make sense together.
func discardDamagedState(stateDir string, messages io.Writer) error {
	var dbs []string
	for _, pattern := range []string{"*.db", "runc-*/*.db", "runc-*/snapshots/*.db"} {
		found, err := filepath.Glob(filepath.Join(stateDir, pattern))
		if err != nil {
			return err
		}
		dbs = append(dbs, found...)
	}
	for _, db := range dbs {
		if err := checkDB(db); err != nil {
			fmt.Fprintf(messages, "discarding the build state in %s, whose %v (the linuxkit cache is intact)\n", stateDir, err)
			return discardState(stateDir)
		}
	}
	// BuildKit writes a worker's ID once, when it creates the worker; on a full disk the file stays empty.
	ids, err := filepath.Glob(filepath.Join(stateDir, "runc-*", "workerid"))
	if err != nil {
		return err
	}
	for _, id := range ids {
		if info, err := os.Stat(id); err == nil && info.Size() == 0 {
			fmt.Fprintf(messages, "discarding the build state in %s, whose worker ID file %s is empty (the linuxkit cache is intact)\n", stateDir, id)
			return discardState(stateDir)
		}
	}
	return nil
}

// checkDB opens the bolt database at path read-only and checks that every page it refers to is in the file. An
// empty file passes: bolt creates the database in it.
func checkDB(path string) (err error) {
	info, err := os.Stat(path)
	if err != nil || info.Size() == 0 {
		return err
	}
	// A damaged file may be mapped shorter than bolt reads: the fault becomes a panic here instead of killing
	// the process. The mapping of a database that faulted stays until the process ends.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("database %s is damaged: %v", path, r)
		}
	}()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("database %s is damaged: %w", path, err)
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error {
		if tx.Size() > info.Size() {
			return fmt.Errorf("database %s is damaged: %d bytes long, its pages reach %d", path, info.Size(), tx.Size())
		}
		return nil
	})
}

// relaxedDBs are the databases of a worker that commit without syncing, by path, for syncing at close.
type relaxedDBs struct {
	stateDir string
	paths    []string
}

// unsyncedDBs are the worker databases (under workerRoot) that newWorkerOpt opens without per-commit sync, and
// historyDB the controller's build history (under the state dir), which newController opens so.
var unsyncedDBs = []string{"containerdmeta.db", "metadata_v2.db"}

const historyDB = "history.db"

// snapshotsDB is the overlay snapshotter's metadata database, under the worker's snapshots directory.
const snapshotsDB = "metadata.db"

// markUnsynced writes the marker that makes a later boot discard the state if its databases never get synced,
// and returns what to sync at close. It returns nil, and the databases keep syncing every commit, when the boot
// ID is unknown or the state dir's filesystem has no room even for the marker (the engine then frees space
// before building, see reclaimSpace).
func markUnsynced(stateDir, workerRoot string) (*relaxedDBs, error) {
	id, err := bootID()
	if err != nil {
		return nil, nil
	}
	// A killed lkpkg may have left the marker's temporary file (see writeSynced).
	if stale, err := filepath.Glob(filepath.Join(stateDir, "."+unsyncedMarker+".*")); err == nil {
		for _, p := range stale {
			_ = os.Remove(p) // a leftover that stays is harmless
		}
	}
	if err := writeSynced(filepath.Join(stateDir, unsyncedMarker), []byte(id+"\n")); err != nil {
		if IsNoSpace(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("mark build state unsynced: %w", err)
	}
	r := &relaxedDBs{stateDir: stateDir}
	for _, name := range unsyncedDBs {
		r.paths = append(r.paths, filepath.Join(workerRoot, name))
	}
	r.paths = append(r.paths, filepath.Join(stateDir, historyDB), filepath.Join(workerRoot, "snapshots", snapshotsDB))
	return r, nil
}

// sync flushes the relaxed databases (after BuildKit closed them: fsync through any descriptor flushes the
// file) and then removes the marker.
func (r *relaxedDBs) sync() error {
	if r == nil {
		return nil
	}
	for _, p := range r.paths {
		if err := syncFile(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("sync build state: %w", err)
		}
	}
	if err := os.Remove(filepath.Join(r.stateDir, unsyncedMarker)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return syncFile(r.stateDir)
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// writeSynced writes a small file and its directory entry durably. The file appears whole or not at all: it is
// written under a temporary name and renamed into place, so a full disk cannot leave it empty or cut short (an
// empty marker would read, at the next start, as one from another boot and discard the whole state).
func writeSynced(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(f.Name()) // the write's error is the one to report
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncFile(filepath.Dir(path))
}
