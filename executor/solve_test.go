package executor

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestSolveOptMapsRequest(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	req := SolveRequest{
		ContextDir:    dir,
		Dockerfile:    "sub/Build.dockerfile",
		Platform:      "linux/arm64",
		BuildArgs:     map[string]string{"A": "1"},
		Labels:        map[string]string{"l": "v"},
		NoCache:       true,
		NamedContexts: map[string]string{"alpine:3": "oci-layout://cache@sha256:00"},
		ExportName:    "x/y:z",
		OutputDir:     filepath.Join(dir, "out"),
	}
	opt, err := req.solveOpt(NetworkNone)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"filename": "Build.dockerfile", "cmdline": "", "platform": "linux/arm64", "force-network-mode": "none",
		"no-cache": "", "build-arg:A": "1", "label:l": "v", "context:alpine:3": "oci-layout://cache@sha256:00",
	}
	if !reflect.DeepEqual(opt.FrontendAttrs, want) {
		t.Errorf("frontend attrs\n got %v\nwant %v", opt.FrontendAttrs, want)
	}
	if len(opt.AllowedEntitlements) != 0 {
		t.Errorf("offline build granted %v", opt.AllowedEntitlements)
	}
	if len(opt.Exports) != 1 || opt.Exports[0].Attrs["tar"] != "false" || opt.Exports[0].Attrs["name"] != "x/y:z" || opt.Exports[0].OutputDir != req.OutputDir {
		t.Errorf("exports %+v", opt.Exports)
	}

	opt, err = req.solveOpt(NetworkHost)
	if err != nil {
		t.Fatal(err)
	}
	if _, forced := opt.FrontendAttrs["force-network-mode"]; forced {
		t.Error("host build forces a network mode")
	}
	if !reflect.DeepEqual(opt.AllowedEntitlements, []string{"network.host"}) {
		t.Errorf("host build entitlements %v", opt.AllowedEntitlements)
	}
}

func TestSolveRequestValidation(t *testing.T) {
	if _, err := (SolveRequest{}).solveOpt(NetworkNone); err == nil {
		t.Error("request without context dir accepted")
	}
	if _, err := parseNetworkMode("bridge"); err == nil {
		t.Error("unknown network mode accepted")
	}
	if m, err := parseNetworkMode(""); err != nil || m != NetworkNone {
		t.Errorf("empty network mode = %q, %v; want none", m, err)
	}
	dir := t.TempDir()
	if _, err := (SolveRequest{ContextDir: dir, OCIStores: map[string]string{"s": dir}}).solveOpt(NetworkNone); err == nil {
		t.Error("OCI store without index.json accepted")
	}
	if _, err := (SolveRequest{ContextDir: dir, OutputDir: dir, Output: os.Stdout}).solveOpt(NetworkNone); err == nil {
		t.Error("request with two outputs accepted")
	}
}

func TestSourcePolicyReadsImagesFromStores(t *testing.T) {
	const dgst = "sha256:84ccacc536787724e1d7f983234d05bc3220bb0b86036f17ea341713701fd934"
	tests := []struct {
		name      string
		fromCache map[string]string
		want      []string // selector -> identifier (store attribute)
	}{
		{name: "none"},
		{name: "one", fromCache: map[string]string{"docker.io/docker/buildkit-syft-scanner:stable-1": "linuxkit-cache@" + dgst},
			want: []string{"docker-image://docker.io/docker/buildkit-syft-scanner:stable-1 -> oci-layout://docker.io/library/linuxkit-cache@" + dgst + " (linuxkit-cache)"}},
		{name: "sorted", fromCache: map[string]string{"docker.io/b/b:1": "s@" + dgst, "docker.io/a/a:1": "s@" + dgst},
			want: []string{
				"docker-image://docker.io/a/a:1 -> oci-layout://docker.io/library/s@" + dgst + " (s)",
				"docker-image://docker.io/b/b:1 -> oci-layout://docker.io/library/s@" + dgst + " (s)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol := SolveRequest{FromCache: tt.fromCache}.sourcePolicy()
			if tt.want == nil {
				if pol != nil {
					t.Fatalf("policy %v, want none", pol)
				}
				return
			}
			var got []string
			for _, r := range pol.Rules {
				got = append(got, r.Selector.Identifier+" -> "+r.Updates.Identifier+" ("+r.Updates.Attrs["oci.store"]+")")
				if r.Action.String() != "CONVERT" || r.Selector.MatchType.String() != "EXACT" {
					t.Errorf("rule %v: want an exact CONVERT", r)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("rules\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}
