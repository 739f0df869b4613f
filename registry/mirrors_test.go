package registry

import (
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	resolverconfig "github.com/moby/buildkit/util/resolver/config"
)

func TestParseMirrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []string
		want    Mirrors
		plain   []string
		wantErr bool
	}{
		{name: "registry and https mirror", in: []string{"ghcr.io=https://m.example:5000"},
			want: Mirrors{"ghcr.io": {"m.example:5000"}}},
		{name: "no registry: every registry; http is plain", in: []string{"http://10.0.0.1:5000/"},
			want: Mirrors{"*": {"10.0.0.1:5000"}}, plain: []string{"10.0.0.1:5000"}},
		{name: "docker.io names Docker Hub's hosts; path kept", in: []string{"docker.io=https://m.example/hub"},
			want: Mirrors{"docker.io": {"m.example/hub"}, "index.docker.io": {"m.example/hub"}, "registry-1.docker.io": {"m.example/hub"}}},
		{name: "LINUXKIT_MIRROR lists, spaces and commas", in: []string{"ghcr.io=https://a quay.io=https://b,https://c"},
			want: Mirrors{"ghcr.io": {"a"}, "quay.io": {"b"}, "*": {"c"}}},
		{name: "no scheme", in: []string{"docker.io=mirror.example"}, wantErr: true},
		{name: "other scheme", in: []string{"ftp://mirror.example"}, wantErr: true},
		{name: "no registry before =", in: []string{"=https://m"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, plain, err := ParseMirrors(tc.in)
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "[<registry>=]http(s)://") {
					t.Fatalf("error %v, want one showing the format", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) || !reflect.DeepEqual(plain, tc.plain) {
				t.Errorf("got %v %v, want %v %v", got, plain, tc.want, tc.plain)
			}
		})
	}
}

func TestMirrorsForBuildKitAndPulls(t *testing.T) {
	m, plain, err := ParseMirrors([]string{"docker.io=http://hub.local", "https://all.local"})
	if err != nil {
		t.Fatal(err)
	}
	hosts := map[string]resolverconfig.RegistryConfig{}
	m.applyTo(hosts, []string{"ghcr.io", "docker.io"}, plain)
	if got := hosts["docker.io"].Mirrors; !reflect.DeepEqual(got, []string{"hub.local", "all.local"}) {
		t.Errorf("docker.io mirrors %v", got)
	}
	if got := hosts["ghcr.io"].Mirrors; !reflect.DeepEqual(got, []string{"all.local"}) {
		t.Errorf("ghcr.io mirrors %v", got)
	}
	if p := hosts["hub.local"].PlainHTTP; p == nil || !*p {
		t.Error("the http:// mirror is not marked plain HTTP")
	}
	for ref, want := range map[string]string{
		"busybox:1":                        "hub.local/library/busybox:1",
		"ghcr.io/o/p@sha256:" + hex64("a"): "hub.local/o/p@sha256:" + hex64("a"),
	} {
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		got, err := mirrored(r, "hub.local")
		if err != nil || got.String() != want {
			t.Errorf("mirrored(%s) = %v, %v; want %s", ref, got, err, want)
		}
	}
}

func hex64(c string) string { return strings.Repeat(c, 64) }
