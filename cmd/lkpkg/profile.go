package main

import (
	"fmt"
	"io"
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
	for _, p := range []struct {
		env         string
		start       func(io.Writer) error
		stopWriting func()
	}{
		{"LKPKG_CPUPROFILE", pprof.StartCPUProfile, pprof.StopCPUProfile},
		{"LKPKG_TRACE", trace.Start, trace.Stop},
	} {
		path := os.Getenv(p.env)
		if path == "" {
			continue
		}
		f, err := os.Create(path)
		if err == nil {
			if err = p.start(f); err != nil {
				_ = f.Close()
			}
		}
		if err != nil {
			return stop, fmt.Errorf("%s: %w", p.env, err)
		}
		stops = append(stops, func() { p.stopWriting(); _ = f.Close() })
	}
	return stop, nil
}
