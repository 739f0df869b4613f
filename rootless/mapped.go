package rootless

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Mapping names the ids of the user namespace a build runs in.
type Mapping string

const (
	// MappingSubordinate: the user as root, and its subordinate ids (newuidmap, newgidmap).
	MappingSubordinate Mapping = "subordinate"
	// MappingContainer: every id root of a container has, each mapped to itself.
	MappingContainer Mapping = "container"
	// MappingSingle: the caller alone, as root; no other id exists in the build.
	MappingSingle Mapping = "single"
)

// mappingEnv tells the re-executed lkpkg which Mapping its namespace has, callerEnv which uid started it.
const (
	mappingEnv = "_LKPKG_USERNS_MAP"
	callerEnv  = "_LKPKG_USERNS_CALLER"
)

// ForUser reports whether this process is lkpkg re-executed by Run for a user other than root: its state then
// lives in the user's home (StateDir), not in root's places.
func ForUser() bool { return Active() && os.Getenv(callerEnv) != "0" }

// CurrentMapping is the Mapping of the namespace this lkpkg was re-executed in, "" outside one.
func CurrentMapping() Mapping {
	if !Active() {
		return ""
	}
	return Mapping(os.Getenv(mappingEnv))
}

// Linux capability numbers (linux/capability.h).
const (
	capSetGID   = 6
	capSetUID   = 7
	capSysAdmin = 21
)

// capable reports whether this process has capability bit cap in its effective set.
func (h host) capable(cap uint) bool {
	f, err := os.Open(h.procSelf + "/status")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if hex, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
			return err == nil && mask&(1<<cap) != 0
		}
	}
	return false
}

// mappedPlan is a namespace whose id maps this process writes itself (through SysProcAttr), as it may for
// the ids it has the capabilities for.
type mappedPlan struct {
	mapping    Mapping
	uids, gids []syscall.SysProcIDMap
}

// containerPlan is the namespace of root without CAP_SYS_ADMIN: with CAP_SETUID and CAP_SETGID (a container
// runtime's defaults) every id of this namespace, mapped to itself, so that files keep their owners; without,
// root alone.
func (h host) containerPlan() (*mappedPlan, error) {
	if !h.capable(capSetUID) || !h.capable(capSetGID) {
		return singlePlan(0, os.Getgid()), nil
	}
	uids, err := identityMap(h.procSelf + "/uid_map")
	if err != nil {
		return nil, err
	}
	gids, err := identityMap(h.procSelf + "/gid_map")
	if err != nil {
		return nil, err
	}
	return &mappedPlan{mapping: MappingContainer, uids: uids, gids: gids}, nil
}

// identityMap maps each id range of this namespace (a /proc/<pid>/uid_map file) to itself.
func identityMap(path string) ([]syscall.SysProcIDMap, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m []syscall.SysProcIDMap
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("%s: unexpected line %q", path, line)
		}
		inside, err1 := strconv.Atoi(f[0])
		count, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s: unexpected line %q", path, line)
		}
		m = append(m, syscall.SysProcIDMap{ContainerID: inside, HostID: inside, Size: count})
	}
	return m, nil
}

// singlePlan maps uid and gid, alone, to root: a process may always map its own ids.
func singlePlan(uid, gid int) *mappedPlan {
	return &mappedPlan{mapping: MappingSingle,
		uids: []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}},
		gids: []syscall.SysProcIDMap{{ContainerID: 0, HostID: gid, Size: 1}}}
}

// userEnv makes containers-storage (--store) and podman's credential files use the user's paths.
func userEnv(owner Owner) []string {
	return []string{"_CONTAINERS_USERNS_CONFIGURED=done",
		"_CONTAINERS_ROOTLESS_UID=" + strconv.Itoa(owner.UID),
		"_CONTAINERS_ROOTLESS_GID=" + strconv.Itoa(os.Getgid())}
}

// runMapped re-executes lkpkg as root of a new user and mount namespace with the plan's maps; the child is
// root from its first instruction, so one exec gives it the namespace's capabilities.
func (p *mappedPlan) runMapped(owner Owner) (int, error) {
	env := append(os.Environ(), stageEnv+"="+stageRoot, mappingEnv+"="+string(p.mapping), callerEnv+"="+strconv.Itoa(owner.UID))
	if owner.UID != 0 {
		env = append(env, userEnv(owner)...)
	}
	cmd := &exec.Cmd{
		Path: "/proc/self/exe", Args: os.Args, Env: env,
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags:  unix.CLONE_NEWUSER | unix.CLONE_NEWNS,
			UidMappings: p.uids, GidMappings: p.gids,
			// Only a holder of CAP_SETGID may keep setgroups(2) in a namespace whose gid map it wrote.
			GidMappingsEnableSetgroups: p.mapping == MappingContainer,
			Pdeathsig:                  unix.SIGKILL,
		},
	}
	signals := make(chan os.Signal, 16)
	signal.Notify(signals, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
	defer signal.Stop(signals)
	if err := cmd.Start(); err != nil {
		return 0, system.refused(err)
	}
	done := make(chan struct{})
	defer close(done)
	go forward(signals, cmd.Process, done)
	return exitStatus(cmd.Wait())
}

// refused explains a user namespace the kernel would not create: RUN steps need one here, so it names what
// is missing and the smallest change that provides it for podman, docker and Kubernetes.
func (h host) refused(err error) error {
	var why string
	switch {
	case os.Geteuid() == 0:
		why = "root here lacks CAP_SYS_ADMIN, which mounting RUN steps' file systems needs, and creating a user " +
			"namespace to get it there"
	default:
		why = fmt.Sprintf("uid %d cannot mount RUN steps' file systems without a user namespace, and creating one", os.Geteuid())
	}
	if errors.Is(err, unix.ENOSPC) {
		return fmt.Errorf("cannot make a sandbox for RUN steps: %s failed: %w (the limit user.max_user_namespaces "+
			"is reached: raise it, e.g. sysctl -w user.max_user_namespaces=15000)", why, err)
	}
	return fmt.Errorf("cannot make a sandbox for RUN steps: %s was refused (%w)%s; this is what Docker's default "+
		"seccomp profile and Kubernetes' RuntimeDefault do (podman's default allows it). The smallest change that allows it: "+
		"podman: its default seccomp profile (no --security-opt seccomp=<profile> refusing unshare), or --security-opt seccomp=unconfined; "+
		"docker: docker run --security-opt seccomp=unconfined --security-opt apparmor=unconfined; "+
		"Kubernetes: the container's securityContext with seccompProfile: {type: Unconfined} and appArmorProfile: "+
		"{type: Unconfined} (a namespace enforcing the restricted Pod Security Standard allows only a Localhost seccomp "+
		"profile: use one that allows unshare and clone with CLONE_NEWUSER); or give the container CAP_SYS_ADMIN",
		why, err, h.apparmorHint())
}
