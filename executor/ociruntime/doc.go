// Package ociruntime is the container runtime built into lkpkg, on
// libcontainer, so that lkpkg needs no runc or crun binary. Run runs a RUN
// step's container inside the calling process; Main is the subset of the runc
// command line that BuildKit's runc executor uses, for the interactive
// gateway containers that need exec and terminals.
//
// lkpkg becomes the runtime command when it is started through a symlink
// named "runc" (see executor.RuntimeMain); libcontainer re-executes the same
// binary with "init" to set up each container, which IsInit/Init handle.
//
// Build requirements: cgo (libcontainer and its nsenter are partly C;
// without cgo, Supported is false and Main only reports that) and, for
// BuildKit's default seccomp profile, the "seccomp" build tag plus libseccomp
// (Debian: apt-get install -y libseccomp-dev pkg-config).
package ociruntime

// AllowNoSeccompEnv, when set to "1" in the runtime's environment, lets a
// binary built without seccomp support run containers whose spec asks for a
// seccomp profile, dropping the profile. The engine sets it only when its
// caller opted in explicitly.
const AllowNoSeccompEnv = "LKPKG_ALLOW_NO_SECCOMP"
