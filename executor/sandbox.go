package executor

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"github.com/moby/buildkit/executor/oci"
	"github.com/moby/sys/userns"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/lkpkg/lkpkg/rootless"
)

// procProbeEnv, in the environment of a re-executed lkpkg, makes it try what a RUN step's container needs of
// the mount and PID namespaces it was started in, and exit with the outcome (see probeMounts).
const procProbeEnv = "_LKPKG_PROBE_MOUNTS"

// Exit statuses of the probe: probeNoMounts, or the sum of the probeNo… bits of what it could not do.
const (
	probeOK         = 0
	probeNoProc     = 1   // no new procfs: /proc is partly masked (a container's)
	probeNoHostname = 2   // no hostname of its own: a seccomp profile refuses sethostname without CAP_SYS_ADMIN
	probeNoNetwork  = 4   // no network namespace of its own
	probeNoMounts   = 100 // no mount at all: a security module (AppArmor) refuses them
)

// sandbox is the isolation RUN steps get in this process's circumstances, decided once as the engine starts.
type sandbox struct {
	processMode oci.ProcessMode
	// noHostname leaves RUN steps the hostname of this process's UTS namespace (in a UTS namespace of their own).
	noHostname bool
	singleID   bool // the user namespace maps one id (rootless.MappingSingle)
	// noNetwork: no network namespace can be made, so no RUN step can be kept off the network (checkNetwork).
	noNetwork bool
	why       []string // the reasons for anything less than a full sandbox, for --verbose 2
}

// detectSandbox finds out what RUN steps' containers can have here. Root of the initial user namespace can
// have everything. In a user namespace (a rootless build, or root of a container without CAP_SYS_ADMIN), a new
// procfs can be mounted only while /proc is fully visible, which a container's masked paths prevent: RUN steps
// then share this process's PID namespace and /proc, as BuildKit's rootless images do ("no process sandbox").
// One child process, started in new mount and PID namespaces, tries it.
func detectSandbox() (sandbox, error) {
	sb := sandbox{processMode: oci.ProcessSandbox, singleID: rootless.CurrentMapping() == rootless.MappingSingle}
	if !userns.RunningInUserNS() {
		return sb, nil
	}
	status, msg := runMountProbe()
	switch {
	case status >= probeOK && status <= probeNoProc|probeNoHostname|probeNoNetwork:
		if status&probeNoProc != 0 {
			sb.processMode = oci.NoProcessSandbox
		}
		sb.noHostname = status&probeNoHostname != 0
		sb.noNetwork = status&probeNoNetwork != 0
		if msg != "" {
			sb.why = append(sb.why, strings.Split(msg, "\n")...)
		}
	case status == probeNoMounts:
		return sb, fmt.Errorf("cannot make a sandbox for RUN steps: mounts are refused even in a user namespace (%s), "+
			"which is what AppArmor's default container profile does. The smallest change that allows them: "+
			"docker: docker run --security-opt apparmor=unconfined; podman: --security-opt apparmor=unconfined; "+
			"Kubernetes: the container's securityContext with appArmorProfile: {type: Unconfined}", msg)
	default:
		return sb, fmt.Errorf("probe what RUN steps may mount here: %s", msg)
	}
	return sb, nil
}

// runMountProbe starts lkpkg again in new mount and PID namespaces to try the mounts (probeMounts) and returns
// its exit status and what it printed.
func runMountProbe() (int, string) {
	exe, err := os.Executable()
	if err != nil {
		return -1, err.Error()
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), procProbeEnv+"=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS,
		Pdeathsig: unix.SIGKILL}
	err = cmd.Run()
	msg := strings.TrimSpace(out.String())
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), msg
	}
	if err != nil {
		return -1, err.Error()
	}
	return probeOK, msg
}

// probeMounts is the probe's child: it tries making its mounts private (any mount), mounting a procfs of its
// PID namespace and naming its UTS namespace, and returns the exit status saying what it could not do, with a
// line on stderr for each.
func probeMounts() int {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		fmt.Fprintf(os.Stderr, "mount --make-rprivate /: %v", err)
		return probeNoMounts
	}
	var status int
	var why []string
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		status |= probeNoProc
		why = append(why, fmt.Sprintf("a new /proc cannot be mounted (%v), as in a container whose /proc has masked paths", err))
	}
	if err := unix.Sethostname([]byte("lkpkg-probe")); err != nil {
		status |= probeNoHostname
		why = append(why, fmt.Sprintf("sethostname is refused (%v), as by podman's seccomp profile without CAP_SYS_ADMIN", err))
	}
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		status |= probeNoNetwork
		why = append(why, fmt.Sprintf("a network namespace cannot be made (%v)", err))
	}
	fmt.Fprint(os.Stderr, strings.Join(why, "\n"))
	return status
}

// checkNetwork refuses a RUN step whose spec asks for a network namespace of its own (network: false) where none
// can be made: it would otherwise fail obscurely, or worse, be given the network.
func (sb sandbox) checkNetwork(spec *specs.Spec) error {
	if !sb.noNetwork || spec.Linux == nil {
		return nil
	}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace && ns.Path == "" {
			return errors.New("this build has no network (build.yml's network: false), but no network namespace " +
				"can be made here to keep its RUN steps off the network; allow unshare(CLONE_NEWNET) in the " +
				"container's seccomp profile, or set network: true if the package may use the network")
		}
	}
	return nil
}

// describe is the one line saying how RUN steps are isolated, printed when that is not a full sandbox of root;
// with explain, it says why.
func (sb sandbox) describe(snapshotter string, snapshotterWhy error, explain bool) string {
	if !userns.RunningInUserNS() {
		return ""
	}
	var ids string
	why := sb.why
	switch rootless.CurrentMapping() {
	case rootless.MappingContainer:
		ids = "with this container's ids mapped to themselves"
		why = append([]string{"root here lacks CAP_SYS_ADMIN"}, why...)
	case rootless.MappingSingle:
		ids = "with a single id (yours, as root; files of other owners become root's)"
	case rootless.MappingSubordinate:
		ids = "with your subordinate ids"
	default:
		ids = "(the one lkpkg was started in)"
	}
	pids := "their own PID namespace and /proc"
	if sb.processMode == oci.NoProcessSandbox {
		pids = "this process's PID namespace and /proc (no process sandbox)"
	}
	line := fmt.Sprintf("lkpkg: sandbox: RUN steps run in a user namespace %s, with %s and %s snapshots", ids, pids, snapshotter)
	if sb.noHostname {
		line += "; their hostname is this container's"
	}
	if sb.noNetwork {
		line += "; no network namespace can be made, so only network: true builds can run"
	}
	if snapshotterWhy != nil {
		why = append(why, "overlayfs: "+snapshotterWhy.Error())
	}
	if explain && len(why) > 0 {
		line += "; because " + strings.Join(why, "; ")
	}
	return line
}

// singleIDHint explains a failed build in a namespace with a single id, where giving a file to another id
// fails with EINVAL ("Invalid argument"); "" in any other namespace.
func singleIDHint() string {
	if rootless.CurrentMapping() != rootless.MappingSingle {
		return ""
	}
	how := "run lkpkg as root in the container, with CAP_SETUID and CAP_SETGID (a container runtime's default)"
	if rootless.ForUser() {
		how = "give the user subordinate ids: a line <user>:100000:65536 in /etc/subuid and /etc/subgid (e.g. " +
			"usermod --add-subuids 100000-165535 --add-subgids 100000-165535 <user>) and newuidmap and newgidmap " +
			"installed setuid root (apt-get install uidmap)"
	}
	return "this build has a single id (yours, as root): a step giving files to another id (chown 1000, adduser) " +
		"fails with \"Invalid argument\" (files of other owners in base images are given to root); for other ids, " + how
}
