//go:build cgo

package ociruntime

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestParseGlobalsTakesBuildKitFlags(t *testing.T) {
	g, rest, err := parseGlobals([]string{"--log", "/x/log.json", "--log-format", "json", "run", "--bundle", "b", "id"}, "/default")
	if err != nil {
		t.Fatal(err)
	}
	want := globals{root: "/default", logPath: "/x/log.json", logFormat: "json"}
	if g != want {
		t.Errorf("globals %+v, want %+v", g, want)
	}
	if !reflect.DeepEqual(rest, []string{"run", "--bundle", "b", "id"}) {
		t.Errorf("rest %q", rest)
	}
	if g, _, err := parseGlobals([]string{"--root=/r", "state", "id"}, "/default"); err != nil || g.root != "/r" {
		t.Errorf("--root=/r gave %+v, %v", g, err)
	}
	if _, _, err := parseGlobals([]string{"--systemd-cgroup", "run"}, "/default"); err == nil {
		t.Error("unsupported global flag accepted")
	}
	if _, _, err := parseGlobals([]string{"--log"}, "/default"); err == nil {
		t.Error("--log without value accepted")
	}
}

func TestClampedRlimitsNeverExceedHardLimit(t *testing.T) {
	var current unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &current); err != nil {
		t.Fatal(err)
	}
	got, err := clampedRlimits([]specs.POSIXRlimit{
		{Type: "RLIMIT_NOFILE", Hard: ^uint64(0), Soft: ^uint64(0)},
		{Type: "RLIMIT_CORE", Hard: 0, Soft: 0},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Type != unix.RLIMIT_NOFILE || got[0].Hard != current.Max || got[0].Soft != current.Max {
		t.Errorf("NOFILE %+v, want hard and soft clamped to %d", got[0], current.Max)
	}
	if got[1].Hard != 0 || got[1].Soft != 0 {
		t.Errorf("CORE %+v, want 0/0 kept", got[1])
	}
	if _, err := clampedRlimits([]specs.POSIXRlimit{{Type: "RLIMIT_BOGUS"}}); err == nil {
		t.Error("unknown rlimit accepted")
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]unix.Signal{"9": unix.SIGKILL, "KILL": unix.SIGKILL, "SIGTERM": unix.SIGTERM, "hup": unix.SIGHUP} {
		if got, err := parseSignal(in); err != nil || got != want {
			t.Errorf("parseSignal(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseSignal("NOPE"); err == nil {
		t.Error("unknown signal accepted")
	}
}

func TestWritePidFileHasNoNewline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pid")
	if err := writePidFile(path, 1234); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); string(data) != "1234" {
		t.Errorf("pid file %q, want %q", data, "1234")
	}
}

func TestSeccompProfileDroppedOnlyWhenAllowed(t *testing.T) {
	spec := func() *specs.Spec { return &specs.Spec{Linux: &specs.Linux{Seccomp: &specs.LinuxSeccomp{}}} }
	t.Setenv(AllowNoSeccompEnv, "")
	s := spec()
	err := dropSeccompIfAllowed(s)
	if SeccompSupported {
		if err != nil || s.Linux.Seccomp == nil {
			t.Fatalf("with seccomp support the profile must be kept: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatal("profile dropped without permission")
	}
	t.Setenv(AllowNoSeccompEnv, "1")
	s = spec()
	if err := dropSeccompIfAllowed(s); err != nil || s.Linux.Seccomp != nil {
		t.Errorf("allowed drop: err %v, profile %v", err, s.Linux.Seccomp)
	}
}

func TestRemoveAllClearsUnusableState(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "junk"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Errorf("left %v", entries)
	}
	if err := RemoveAll(filepath.Join(root, "missing")); err != nil {
		t.Errorf("missing root: %v", err)
	}
}

func TestAddHostSys(t *testing.T) {
	proc := specs.Mount{Destination: "/proc", Type: "proc", Source: "proc"}
	for _, tc := range []struct {
		name   string
		mounts []specs.Mount
		want   int // mounts afterwards
	}{
		{"no /sys: the host's is bound read-only", []specs.Mount{proc}, 2},
		{"a /sys of the spec's own is kept", []specs.Mount{proc, {Destination: "/sys", Type: "sysfs", Source: "sysfs"}}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := &specs.Spec{Mounts: append([]specs.Mount(nil), tc.mounts...)}
			addHostSys(spec)
			if len(spec.Mounts) != tc.want {
				t.Fatalf("mounts %+v", spec.Mounts)
			}
			sys := spec.Mounts[len(spec.Mounts)-1]
			if sys.Destination != "/sys" {
				t.Fatalf("last mount %+v, want /sys", sys)
			}
			if len(tc.mounts) < tc.want && (sys.Type != "bind" || sys.Source != "/sys" ||
				!reflect.DeepEqual(sys.Options, []string{"rbind", "nosuid", "noexec", "nodev", "ro"})) {
				t.Errorf("added /sys mount %+v, want a read-only rbind of the host's", sys)
			}
		})
	}
}
