package rootless

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// host is where the prerequisites of a user namespace are read; tests point it at files of their own.
type host struct {
	subuid, subgid string // /etc/subuid, /etc/subgid
	procSys        string // /proc/sys
	procSelf       string // /proc/self: capabilities and the id maps of this process's namespace
	lookPath       func(file string) (string, error)
}

var system = host{subuid: "/etc/subuid", subgid: "/etc/subgid", procSys: "/proc/sys", procSelf: "/proc/self", lookPath: findHelper}

// helperDirs are searched for newuidmap and newgidmap after $PATH, which for a user often lacks the sbin
// directories some distributions put them in.
var helperDirs = []string{"/usr/bin", "/usr/sbin", "/bin", "/sbin"}

func findHelper(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range helperDirs {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// plan is what entering the namespace takes: the two helpers and the maps to give them.
type plan struct {
	newuidmap, newgidmap string
	uidMap, gidMap       []string
}

// prepare checks every prerequisite of a user namespace for owner (whose primary group is gid) and returns
// the plan, or one error listing each missing prerequisite and how to provide it.
func (h host) prepare(owner Owner, gid int) (*plan, error) {
	var p plan
	var errs []error
	errs = append(errs, h.usernsEnabled())
	var missing []string
	for _, helper := range []struct {
		name string
		path *string
	}{{"newuidmap", &p.newuidmap}, {"newgidmap", &p.newgidmap}} {
		var err error
		if *helper.path, err = h.lookPath(helper.name); err != nil {
			missing = append(missing, helper.name)
		}
	}
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("%s not found (looked in $PATH and %s): install them, e.g. apt-get install uidmap",
			strings.Join(missing, " and "), strings.Join(helperDirs, ", ")))
	}
	uids, err := readRanges(h.subuid, owner)
	errs = append(errs, err)
	gids, err := readRanges(h.subgid, owner)
	errs = append(errs, err)
	errs = append(errs, h.subidsMissing(owner, len(uids) == 0, len(gids) == 0))
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	p.uidMap, p.gidMap = idMap(owner.UID, uids), idMap(gid, gids)
	return &p, nil
}

// subidsMissing explains an empty /etc/subuid or /etc/subgid entry: without subordinate ids a build could only
// have the user as root and could not give files to anyone else, which every image with a second user needs.
func (h host) subidsMissing(owner Owner, noUIDs, noGIDs bool) error {
	var files []string
	if noUIDs {
		files = append(files, h.subuid)
	}
	if noGIDs {
		files = append(files, h.subgid)
	}
	if len(files) == 0 {
		return nil
	}
	name := owner.String()
	return fmt.Errorf("user %s has no subordinate ids in %s, which a build needs to give files to ids other than root's: add the line %q to %s and %s, "+
		"e.g. sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s",
		name, strings.Join(files, " and "), name+":100000:65536", h.subuid, h.subgid, name)
}

// usernsEnabled reads the sysctls that switch unprivileged user namespaces off.
func (h host) usernsEnabled() error {
	for _, s := range []struct{ file, name, enable string }{
		{"kernel/unprivileged_userns_clone", "kernel.unprivileged_userns_clone", "1"}, // Debian's and Ubuntu's switch
		{"user/max_user_namespaces", "user.max_user_namespaces", "15000"},
	} {
		data, err := os.ReadFile(filepath.Join(h.procSys, s.file))
		if err != nil || strings.TrimSpace(string(data)) != "0" {
			continue // absent: the kernel has no such switch
		}
		return fmt.Errorf("unprivileged user namespaces are disabled (sysctl %s=0), and rootless builds need one: "+
			"enable them with sudo sysctl -w %s=%s (or build as root)", s.name, s.name, s.enable)
	}
	return nil
}

// apparmorHint explains a refused namespace on hosts where AppArmor confines unprivileged user namespaces
// (Ubuntu 23.10 and later); "" elsewhere.
func (h host) apparmorHint() string {
	data, err := os.ReadFile(filepath.Join(h.procSys, "kernel/apparmor_restrict_unprivileged_userns"))
	if err != nil || strings.TrimSpace(string(data)) != "1" {
		return ""
	}
	return "; AppArmor restricts unprivileged user namespaces here (sysctl kernel.apparmor_restrict_unprivileged_userns=1): " +
		"allow lkpkg with an AppArmor profile granting \"userns,\", or set the sysctl to 0"
}
