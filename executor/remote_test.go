package executor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/buildkit/client/connhelper"
)

func TestParseBuilderAddress(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		addr, target, err string
		opts              int
	}{
		{addr: "tcp://arm64.example:1234", target: "tcp://arm64.example:1234"},
		{addr: "tcp://10.0.0.1:1234?cacert=" + ca + "&cert=" + ca + "&key=" + ca + "&servername=b.example", target: "tcp://10.0.0.1:1234", opts: 2},
		{addr: "tcp://h:1?cacert=" + ca, target: "tcp://h:1", opts: 1},
		{addr: "unix:///run/buildkit/buildkitd.sock", target: "unix:///run/buildkit/buildkitd.sock"},
		{addr: "ssh://builder@arm64.example", target: "ssh://builder@arm64.example"},
		{addr: "ssh://builder@arm64.example:2222/run/buildkit/buildkitd.sock", target: "ssh://builder@arm64.example:2222/run/buildkit/buildkitd.sock"},
		{addr: "kube-pod://buildkitd-0?namespace=ci", target: "kube-pod://buildkitd-0?namespace=ci"},
		{addr: "docker-container://buildx_buildkit_arm0", target: "docker-container://buildx_buildkit_arm0"},
		{addr: "podman-container://buildkitd", target: "podman-container://buildkitd"},
		{addr: "desktop-linux", err: "docker context names are not BuildKit addresses"},
		{addr: "http://h:1", err: `unknown scheme "http"`},
		{addr: "tcp://h", err: "tcp://host:port"},
		{addr: "tcp://h:1?ca=x", err: `unknown option "ca"`},
		{addr: "tcp://h:1?cacert=/nonexistent/ca.pem", err: "cacert file"},
		{addr: "tcp://h:1?cert=" + ca, err: "both cert and key"},
		{addr: "unix://relative", err: "unix:///absolute/path"},
		{addr: "ssh://me:secret@h", err: "ssh://me:secret@h"},
		{addr: "kube-pod://", err: "kube-pod://"},
	} {
		target, opts, err := ParseBuilderAddress(c.addr)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want one containing %q", c.addr, err, c.err)
			}
			continue
		}
		if err != nil || target != c.target || len(opts) != c.opts {
			t.Errorf("%s: %q, %d options, %v; want %q, %d options", c.addr, target, len(opts), err, c.target, c.opts)
		}
	}
}

// The connection helpers are BuildKit's own, registered by importing them; each scheme must give a dialer.
func TestConnectionHelpersRegistered(t *testing.T) {
	for _, addr := range []string{"ssh://builder@arm64.example", "kube-pod://buildkitd-0?namespace=ci",
		"docker-container://buildkitd", "podman-container://buildkitd"} {
		h, err := connhelper.GetConnectionHelper(addr)
		if err != nil || h == nil || h.ContextDialer == nil {
			t.Errorf("%s: helper %v, %v", addr, h, err)
		}
	}
}

func TestBuilderNameHidesOptions(t *testing.T) {
	if got := BuilderName("tcp://h:1?cacert=/a&cert=/b&key=/c"); got != "tcp://h:1" {
		t.Errorf("BuilderName: %q", got)
	}
}
