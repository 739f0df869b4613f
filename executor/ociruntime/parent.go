//go:build cgo

package ociruntime

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// CommandName is the name the runtime is started by: what BuildKit's runc
// executor looks for.
const CommandName = "runc"

// parentAtStart is the process that started this runtime (BuildKit in lkpkg).
var parentAtStart = os.Getppid()

// BuildKit starts the runtime with parent-death signal SIGKILL. Dying on
// the spot would orphan the container, and one still being created would
// block forever waiting to be started. So the runtime asks for SIGTERM
// instead, and treats a signal that arrives after its parent is gone as
// the order to kill the container (see parentGone).
//
// This must run on the main thread, which carries the parent-death signal:
// package init functions do, as the Go runtime locks them to it.
func init() {
	if filepath.Base(os.Args[0]) == CommandName && !IsInit() {
		_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGTERM), 0, 0, 0)
	}
}

// parentGone reports whether the process that started this runtime has exited.
func parentGone() bool {
	return os.Getppid() != parentAtStart
}
