package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"runtime/trace"
)

// startProfiles writes a CPU profile to $LKPKG_CPUPROFILE and an execution trace to $LKPKG_TRACE while the
// command runs (bench/README.md shows how to read them). They are environment variables rather than flags so
// that any command line, including a Makefile's, can be profiled unchanged. The returned stop flushes both.
func startProfiles() (stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	if path := os.Getenv("LKPKG_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return stop, fmt.Errorf("LKPKG_CPUPROFILE: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			_ = f.Close()
			return stop, fmt.Errorf("LKPKG_CPUPROFILE: %w", err)
		}
		stops = append(stops, func() { pprof.StopCPUProfile(); _ = f.Close() })
	}
	if path := os.Getenv("LKPKG_TRACE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return stop, fmt.Errorf("LKPKG_TRACE: %w", err)
		}
		if err := trace.Start(f); err != nil {
			_ = f.Close()
			return stop, fmt.Errorf("LKPKG_TRACE: %w", err)
		}
		stops = append(stops, func() { trace.Stop(); _ = f.Close() })
	}
	return stop, nil
}
