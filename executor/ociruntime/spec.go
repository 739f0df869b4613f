//go:build cgo

package ociruntime

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	return nil
}

// dropSeccompIfAllowed handles a binary built without seccomp support: it
// refuses a spec asking for a profile unless the engine explicitly allowed
// running without one.
func dropSeccompIfAllowed(spec *specs.Spec) error {
	if SeccompSupported || spec.Linux == nil || spec.Linux.Seccomp == nil {
		return nil
	}
	if os.Getenv(AllowNoSeccompEnv) != "1" {
		return fmt.Errorf("this lkpkg binary was built without seccomp support and cannot apply the container's seccomp profile; rebuild with cgo and -tags seccomp (needs libseccomp-dev)")
	}
	spec.Linux.Seccomp = nil
	return nil
}

// addHostSys gives a RUN step of a rootless build the host's /sys, bound read-only, unless the spec mounts
// something there. BuildKit leaves /sys out in a user namespace because a new sysfs can only be mounted in a
// network namespace the user namespace owns, which a host-network step is not in; tools that read /sys (CPU
// topology, for instance) would fail without one. Root of the user namespace has no privilege over the host's
// /sys, so the step sees only what the user could read anyway.
func addHostSys(spec *specs.Spec) {
	for _, m := range spec.Mounts {
		if m.Destination == "/sys" {
			return
		}
	}
	spec.Mounts = append(spec.Mounts, specs.Mount{
		Destination: "/sys", Type: "bind", Source: "/sys",
		Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"},
	})
}

// newProcess turns an OCI process description into a libcontainer process.
func newProcess(p *specs.Process, init bool) (*libcontainer.Process, error) {
	lp := &libcontainer.Process{
		Args:            p.Args,
		Env:             p.Env,
		UID:             int(p.User.UID),
		GID:             int(p.User.GID),
		Cwd:             p.Cwd,
		Label:           p.SelinuxLabel,
		NoNewPrivileges: &p.NoNewPrivileges,
		AppArmorProfile: p.ApparmorProfile,
		Init:            init,
		Scheduler:       p.Scheduler,
		IOPriority:      p.IOPriority,
	}
	if p.ConsoleSize != nil {
		lp.ConsoleWidth, lp.ConsoleHeight = uint16(p.ConsoleSize.Width), uint16(p.ConsoleSize.Height)
	}
	if c := p.Capabilities; c != nil {
		lp.Capabilities = &configs.Capabilities{
			Bounding: c.Bounding, Effective: c.Effective, Inheritable: c.Inheritable,
			Permitted: c.Permitted, Ambient: c.Ambient,
		}
	}
	for _, g := range p.User.AdditionalGids {
		lp.AdditionalGroups = append(lp.AdditionalGroups, int(g))
	}
	rlimits, err := clampedRlimits(p.Rlimits)
	if err != nil {
		return nil, err
	}
	lp.Rlimits = rlimits
	return lp, nil
}

var rlimitTypes = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE,
	"RLIMIT_NICE": unix.RLIMIT_NICE, "RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC,
	"RLIMIT_RSS": unix.RLIMIT_RSS, "RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME,
	"RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING, "RLIMIT_STACK": unix.RLIMIT_STACK,
}

// clampedRlimits converts the requested limits, lowering any that exceed
// this process's hard limit: some hosts refuse to raise a hard limit even
// for root, and a build step should run with less rather than not at all.
func clampedRlimits(requested []specs.POSIXRlimit) ([]configs.Rlimit, error) {
	var out []configs.Rlimit
	for _, r := range requested {
		typ, ok := rlimitTypes[r.Type]
		if !ok {
			return nil, fmt.Errorf("unknown rlimit %q in container spec", r.Type)
		}
		var current unix.Rlimit
		if err := unix.Getrlimit(typ, &current); err != nil {
			return nil, fmt.Errorf("read %s: %w", r.Type, err)
		}
		hard, soft := min(r.Hard, current.Max), r.Soft
		soft = min(soft, hard)
		out = append(out, configs.Rlimit{Type: typ, Hard: hard, Soft: soft})
	}
	return out, nil
}
