package rootless

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fakeHost is a host whose files are in a temp dir: subuid and subgid with the given contents, the given
// sysctls, and the helpers that are present.
func fakeHost(t *testing.T, subuid, subgid string, sysctls map[string]string, helpers ...string) host {
	t.Helper()
	dir := t.TempDir()
	h := host{subuid: filepath.Join(dir, "subuid"), subgid: filepath.Join(dir, "subgid"), procSys: filepath.Join(dir, "sys")}
	for path, content := range map[string]string{h.subuid: subuid, h.subgid: subgid} {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, value := range sysctls {
		p := filepath.Join(h.procSys, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(value+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h.lookPath = func(name string) (string, error) {
		for _, have := range helpers {
			if have == name {
				return "/usr/bin/" + name, nil
			}
		}
		return "", exec.ErrNotFound
	}
	return h
}

var alice = Owner{Name: "alice", UID: 1000}

func TestPrepare(t *testing.T) {
	h := fakeHost(t, "alice:100000:65536\n", "1000:200000:1000\nalice:300000:5\n",
		map[string]string{"kernel/unprivileged_userns_clone": "1", "user/max_user_namespaces": "100"},
		"newuidmap", "newgidmap")
	p, err := h.prepare(alice, 1001)
	if err != nil {
		t.Fatal(err)
	}
	want := &plan{newuidmap: "/usr/bin/newuidmap", newgidmap: "/usr/bin/newgidmap",
		uidMap: []string{"0", "1000", "1", "1", "100000", "65536"},
		gidMap: []string{"0", "1001", "1", "1", "200000", "1000", "1001", "300000", "5"}}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("plan %+v, want %+v", p, want)
	}
}

func TestPrepareErrors(t *testing.T) {
	const ok = "alice:100000:65536\n"
	both := []string{"newuidmap", "newgidmap"}
	for _, tc := range []struct {
		name           string
		subuid, subgid string
		sysctls        map[string]string
		helpers        []string
		want           []string
	}{
		{name: "no subuid entry", subuid: "bob:100000:65536\n", subgid: ok, helpers: both,
			want: []string{"user alice has no subordinate ids in SUBUID,", `add the line "alice:100000:65536" to SUBUID and SUBGID`,
				"usermod --add-subuids 100000-165535 --add-subgids 100000-165535 alice"}},
		{name: "no subgid entry", subuid: ok, subgid: "", helpers: both,
			want: []string{"user alice has no subordinate ids in SUBGID,"}},
		{name: "neither", helpers: both, want: []string{"no subordinate ids in SUBUID and SUBGID,"}},
		{name: "newuidmap missing", subuid: ok, subgid: ok, helpers: []string{"newgidmap"},
			want: []string{"newuidmap not found", "apt-get install uidmap"}},
		{name: "both helpers missing", subuid: ok, subgid: ok,
			want: []string{"newuidmap and newgidmap not found (looked in $PATH and /usr/bin,", "install them, e.g. apt-get install uidmap"}},
		{name: "userns clone switched off", subuid: ok, subgid: ok, helpers: both,
			sysctls: map[string]string{"kernel/unprivileged_userns_clone": "0"},
			want:    []string{"(sysctl kernel.unprivileged_userns_clone=0)", "sysctl -w kernel.unprivileged_userns_clone=1"}},
		{name: "no user namespaces allowed", subuid: ok, subgid: ok, helpers: both,
			sysctls: map[string]string{"user/max_user_namespaces": "0"},
			want:    []string{"(sysctl user.max_user_namespaces=0)", "sysctl -w user.max_user_namespaces=15000"}},
		{name: "every problem at once", sysctls: map[string]string{"user/max_user_namespaces": "0"},
			want: []string{"user.max_user_namespaces=0", "newuidmap and newgidmap not found", "no subordinate ids in SUBUID and SUBGID"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := fakeHost(t, tc.subuid, tc.subgid, tc.sysctls, tc.helpers...)
			_, err := h.prepare(alice, 1000)
			if err == nil {
				t.Fatal("no error")
			}
			msg := strings.NewReplacer(h.subuid, "SUBUID", h.subgid, "SUBGID").Replace(err.Error())
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q\nlacks %q", msg, w)
				}
			}
		})
	}
}

func TestApparmorHint(t *testing.T) {
	if hint := fakeHost(t, "", "", nil).apparmorHint(); hint != "" {
		t.Errorf("hint without the sysctl: %q", hint)
	}
	h := fakeHost(t, "", "", map[string]string{"kernel/apparmor_restrict_unprivileged_userns": "1"})
	if hint := h.apparmorHint(); !strings.Contains(hint, "kernel.apparmor_restrict_unprivileged_userns=1") {
		t.Errorf("hint %q does not name the sysctl", hint)
	}
}

func TestStateDir(t *testing.T) {
	t.Setenv("HOME", "/home/alice")
	t.Setenv("XDG_DATA_HOME", "")
	if got, _ := StateDir(); got != "/home/alice/.local/share/lkpkg" {
		t.Errorf("default state dir %q", got)
	}
	t.Setenv("XDG_DATA_HOME", "/data/alice")
	if got, _ := StateDir(); got != "/data/alice/lkpkg" {
		t.Errorf("XDG_DATA_HOME state dir %q", got)
	}
	t.Setenv("XDG_DATA_HOME", "relative") // the XDG spec says to ignore it
	if got, _ := StateDir(); got != "/home/alice/.local/share/lkpkg" {
		t.Errorf("relative XDG_DATA_HOME gave %q", got)
	}
}
