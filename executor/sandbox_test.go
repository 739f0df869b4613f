package executor

import (
	"os"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestMountProbe runs the probe child as root of the initial namespaces, where a RUN step can have everything.
func TestMountProbe(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the probe makes namespaces, which needs root")
	}
	if status, msg := runMountProbe(); status != probeOK || msg != "" {
		t.Fatalf("probe as root: status %d, %q", status, msg)
	}
}

func TestCheckNetwork(t *testing.T) {
	own := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace}}}}
	host := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}}}}
	joined := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.NetworkNamespace, Path: "/run/netns/x"}}}}
	for _, tc := range []struct {
		name      string
		noNetwork bool
		spec      *specs.Spec
		refused   bool
	}{
		{"namespaces available, own network", false, own, false},
		{"no namespace, host network", true, host, false},
		{"no namespace, an existing one joined", true, joined, false},
		{"no namespace, network: false", true, own, true},
	} {
		err := sandbox{noNetwork: tc.noNetwork}.checkNetwork(tc.spec)
		if (err != nil) != tc.refused {
			t.Errorf("%s: %v", tc.name, err)
		}
		if err != nil && !strings.Contains(err.Error(), "network: false") {
			t.Errorf("%s: the error does not name build.yml's setting: %v", tc.name, err)
		}
	}
}

func TestDropOtherOwners(t *testing.T) {
	spec := &specs.Spec{Mounts: []specs.Mount{
		{Destination: "/dev/pts", Type: "devpts", Options: []string{"nosuid", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/run", Type: "tmpfs", Options: []string{"uid=0", "gid=0", "uid=1000"}},
	}}
	dropOtherOwners(spec)
	want := [][]string{{"nosuid", "newinstance", "ptmxmode=0666", "mode=0620"}, {"uid=0", "gid=0"}}
	for i, m := range spec.Mounts {
		if !reflect.DeepEqual(m.Options, want[i]) {
			t.Errorf("%s: options %v, want %v", m.Destination, m.Options, want[i])
		}
	}
}
