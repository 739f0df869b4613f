package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProfilesWritten(t *testing.T) {
	dir := t.TempDir()
	cpu, trace := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "trace.out")
	t.Setenv("LKPKG_CPUPROFILE", cpu)
	t.Setenv("LKPKG_TRACE", trace)
	stop, err := startProfiles()
	if err != nil {
		t.Fatal(err)
	}
	stop()
	for _, f := range []string{cpu, trace} {
		if fi, err := os.Stat(f); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v, %v", f, fi, err)
		}
	}

	t.Setenv("LKPKG_CPUPROFILE", "")
	t.Setenv("LKPKG_TRACE", filepath.Join(dir, "no-such-dir", "trace.out"))
	stop, err = startProfiles()
	stop()
	if err == nil || !strings.HasPrefix(err.Error(), "LKPKG_TRACE: ") {
		t.Errorf("an unwritable trace file: %v, want an error naming LKPKG_TRACE", err)
	}
}
