//go:build !cgo

package ociruntime

import (
	"fmt"
	"os"
)

// Supported reports whether this binary can run containers at all; it was
// built without cgo, which libcontainer needs.
const Supported = false

// SeccompSupported reports whether this binary can apply seccomp profiles.
const SeccompSupported = false

// IsInit reports whether this process is a container init; never without cgo.
func IsInit() bool { return false }

// Init is unreachable without cgo.
func Init() {}

// Main explains that this binary cannot act as a runtime.
func Main(args []string, defaultRoot string) int {
	fmt.Fprintln(os.Stderr, "lkpkg runtime: this lkpkg was built without cgo and cannot run containers; rebuild with CGO_ENABLED=1")
	return 1
}

// Remove has nothing to remove: no container can have been started.
func Remove(root, id string) error { return nil }

// RemoveAll has nothing to remove: no container can have been started.
func RemoveAll(root string) error { return nil }

// CommandName is the name the runtime is started by: what BuildKit's runc
// executor looks for.
const CommandName = "runc"
