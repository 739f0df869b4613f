// Package rootless lets an unprivileged user build: lkpkg re-executes itself as root of a new user namespace
// (with its own mount namespace) whose ids 0 and 1..N are the caller and the caller's subordinate ids from
// /etc/subuid and /etc/subgid, mapped by the setuid helpers newuidmap and newgidmap (Debian package uidmap), as
// podman, buildah and rootlesskit do. Inside, lkpkg is root over what the user owns and nothing else.
//
// The re-execution takes two steps. The child is cloned into the new namespaces and, before doing anything,
// waits for its parent to write the id maps; it then executes itself once more, because only a program started
// by a process that already is uid 0 in the namespace holds the namespace's capabilities (they are dropped by
// the first exec, which happens before any map exists). Main handles both steps; main() calls it early.
//
// Only commands that run containers need this (pkg build); everything else runs as the user.
//
// go.podman.io/storage/pkg/unshare does a similar re-execution, but when newuidmap fails it only warns and maps
// the caller alone, so builds would fail later and obscurely; here a failed mapping is an error saying why.
package rootless
