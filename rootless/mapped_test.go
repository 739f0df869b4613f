package rootless

import (
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
)

// procSelf writes a fake /proc/self with the given effective capabilities and id maps.
func procSelf(t *testing.T, capEff, uidMap, gidMap string) host {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"status":  "Name:\tlkpkg\nCapInh:\t0000000000000000\nCapEff:\t" + capEff + "\nCapBnd:\t000001ffffffffff\n",
		"uid_map": uidMap, "gid_map": gidMap,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return host{procSelf: dir}
}

func TestCapable(t *testing.T) {
	podman := procSelf(t, "00000000a80425fb", "", "") // podman's default capabilities
	for bit, want := range map[uint]bool{capSetUID: true, capSetGID: true, capSysAdmin: false} {
		if got := podman.capable(bit); got != want {
			t.Errorf("capability %d: %v, want %v", bit, got, want)
		}
	}
	if procSelf(t, "000001ffffffffff", "", "").capable(capSysAdmin) != true {
		t.Error("every capability lacks CAP_SYS_ADMIN")
	}
}

func TestContainerPlan(t *testing.T) {
	h := procSelf(t, "00000000a80425fb", "         0          0 4294967295\n", "0 100000 65536\n65536 5 1\n")
	p, err := h.containerPlan()
	if err != nil {
		t.Fatal(err)
	}
	want := &mappedPlan{mapping: MappingContainer,
		uids: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 4294967295}},
		gids: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}, {ContainerID: 65536, HostID: 65536, Size: 1}}}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("plan %+v, want %+v", p, want)
	}
	// Without CAP_SETUID (--cap-drop all) root can map only itself.
	p, err = procSelf(t, "0000000000000000", "0 0 4294967295\n", "0 0 4294967295\n").containerPlan()
	if err != nil || p.mapping != MappingSingle || len(p.uids) != 1 || p.uids[0].Size != 1 {
		t.Errorf("plan without capabilities: %+v, %v", p, err)
	}
	if _, err := procSelf(t, "00000000a80425fb", "0 0\n", "0 0 1\n").containerPlan(); err == nil {
		t.Error("a malformed uid_map was accepted")
	}
}
