package executor

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// fakeBoot points bootIDFile at a file holding id for the test's duration.
func fakeBoot(t *testing.T, id string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "boot_id")
	if err := os.WriteFile(f, []byte(id+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := bootIDFile
	bootIDFile = f
	t.Cleanup(func() { bootIDFile = old })
}

func TestDiscardTornState(t *testing.T) {
	for _, tc := range []struct {
		name, marker string // marker "" = none
		discarded    bool
	}{
		{name: "clean close", marker: ""},
		{name: "process killed in this boot", marker: "boot-b"},
		{name: "machine crashed in an earlier boot", marker: "boot-a", discarded: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fakeBoot(t, "boot-b")
			state := t.TempDir()
			for _, f := range []string{lockFileName, "cache.db", "runc-overlayfs/containerdmeta.db"} {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(state, f)), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(state, f), []byte("x"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tc.marker != "" {
				if err := os.WriteFile(filepath.Join(state, unsyncedMarker), []byte(tc.marker+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var msg bytes.Buffer
			if err := discardTornState(state, &msg); err != nil {
				t.Fatal(err)
			}
			_, err := os.Stat(filepath.Join(state, "runc-overlayfs", "containerdmeta.db"))
			if gone := os.IsNotExist(err); gone != tc.discarded {
				t.Fatalf("state discarded = %v, want %v", gone, tc.discarded)
			}
			if _, err := os.Stat(filepath.Join(state, lockFileName)); err != nil {
				t.Fatalf("the lock must survive: %v", err)
			}
			if said := strings.Contains(msg.String(), "discarding the build state"); said != tc.discarded {
				t.Fatalf("message %q, discarded %v", msg.String(), tc.discarded)
			}
		})
	}
}

// TestEngineMarksStateUnsyncedWhileOpen checks the marker's life: present with this boot's ID while an engine
// runs, gone after Close; and that an engine opening a state left by another boot starts from an empty one.
func TestEngineMarksStateUnsyncedWhileOpen(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the engine as root; skipped under -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("the engine needs root; CI runs the tests as root")
	}
	state := t.TempDir()
	open := func(messages *bytes.Buffer) *Engine {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		e, err := New(ctx, Options{StateDir: state, AllowNoSeccomp: true, Messages: messages})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	var msg bytes.Buffer
	e := open(&msg)
	id, err := bootID()
	if err != nil {
		t.Fatal(err)
	}
	marker, err := os.ReadFile(filepath.Join(state, unsyncedMarker))
	if err != nil || strings.TrimSpace(string(marker)) != id {
		t.Fatalf("marker while open = %q, %v; want this boot's ID %s", marker, err, id)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(state, unsyncedMarker)); !os.IsNotExist(err) {
		t.Fatalf("marker still there after Close: %v", err)
	}

	// As if the machine went down mid-build: a marker from another boot and a file only that build wrote.
	if err := os.WriteFile(filepath.Join(state, unsyncedMarker), []byte("another-boot\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	leftover := filepath.Join(state, "runc-overlayfs", "left-by-torn-build")
	if err := os.WriteFile(leftover, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	e = open(&msg)
	defer e.Close()
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Fatalf("state of another boot was kept: %v", err)
	}
	if !strings.Contains(msg.String(), "discarding the build state") {
		t.Fatalf("no message about the discarded state: %q", msg.String())
	}
	// Discarding must not take the directory containerd mounts layers in, or the first build after it fails.
	if _, err := os.Stat(filepath.Join(state, tempMountsDir)); err != nil {
		t.Fatalf("the temporary mounts directory after discarding: %v", err)
	}
}

// TestMarkUnsyncedOnFullDisk: with no room for the marker, the engine keeps its databases syncing every commit
// and leaves no marker at all: an empty one would read, at the next start, as one from another boot.
func TestMarkUnsyncedOnFullDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a small filesystem as root; skipped under -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting needs root; CI runs the tests as root")
	}
	state := t.TempDir()
	if err := unix.Mount("tmpfs", state, "tmpfs", 0, "size=64k"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(state, unix.MNT_DETACH) })
	filler, err := os.Create(filepath.Join(state, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, err = filler.Write(make([]byte, 4096))
	}
	filler.Close()
	if !IsNoSpace(err) {
		t.Fatalf("filling the filesystem: %v", err)
	}

	if err := writeSynced(filepath.Join(state, "file"), []byte("data\n")); !IsNoSpace(err) {
		t.Fatalf("writeSynced on a full disk: %v, want ENOSPC", err)
	}
	r, err := markUnsynced(state, filepath.Join(state, "worker"))
	if err != nil || r != nil {
		t.Fatalf("markUnsynced on a full disk = %v, %v; want nil, nil (sync every commit)", r, err)
	}
	if names := entryNames(t, state); len(names) != 1 || names[0] != "filler" {
		t.Fatalf("a full disk left %v, want only the filler", names)
	}
}

func entryNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestDiscardDamagedState: a database cut short, as creating it on a full disk leaves it, makes the engine
// discard the state (bolt would refuse it or fault reading past its end); whole and empty ones are kept.
func TestDiscardDamagedState(t *testing.T) {
	whole := filepath.Join(t.TempDir(), "whole.db")
	db, err := bolt.Open(whole, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("b")); return err }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	content, err := os.ReadFile(whole)
	if err != nil {
		t.Fatal(err)
	}
	page := int64(os.Getpagesize())
	for _, tc := range []struct {
		name      string
		path      string // under the state dir
		size      int64  // of the database written there; -1: whole
		discarded bool
	}{
		{"whole", "runc-overlayfs/containerdmeta.db", -1, false},
		{"empty: bolt creates it", "runc-overlayfs/metadata_v2.db", 0, false},
		{"one page", "runc-overlayfs/containerdmeta.db", page, true},
		{"meta pages only", "cache.db", 2 * page, true},
		{"three of four pages", "runc-overlayfs/snapshots/metadata.db", 3 * page, true},
		{"an empty worker ID", "runc-overlayfs/workerid", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state := t.TempDir()
			data := content
			if tc.size >= 0 {
				data = content[:tc.size]
			}
			for path, b := range map[string][]byte{tc.path: data, "history.db": content, lockFileName: nil} {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(state, path)), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(state, path), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var msg bytes.Buffer
			if err := discardDamagedState(state, &msg); err != nil {
				t.Fatal(err)
			}
			_, err := os.Stat(filepath.Join(state, "history.db"))
			if gone := os.IsNotExist(err); gone != tc.discarded {
				t.Fatalf("state discarded = %v, want %v (%s)", gone, tc.discarded, msg.String())
			}
			if _, err := os.Stat(filepath.Join(state, lockFileName)); err != nil {
				t.Fatalf("the lock must survive: %v", err)
			}
			if said := strings.Contains(msg.String(), tc.path+" is "); said != tc.discarded {
				t.Fatalf("message %q, discarded %v", msg.String(), tc.discarded)
			}
		})
	}
}
