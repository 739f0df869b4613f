package build

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseBuilders(t *testing.T) {
	for _, c := range []struct {
		spec string
		want map[string]string
		err  string
	}{
		{spec: "", want: map[string]string{}},
		{spec: "linux/arm64=tcp://a:1", want: map[string]string{"linux/arm64": "tcp://a:1"}},
		{spec: "linux/arm64=tcp://a:1, linux/s390x=ssh://me@b", want: map[string]string{"linux/arm64": "tcp://a:1", "linux/s390x": "ssh://me@b"}},
		{spec: "linux/arm64=kube-pod://bk?namespace=ci&container=buildkitd,linux/amd64=unix:///run/bk.sock",
			want: map[string]string{"linux/arm64": "kube-pod://bk?namespace=ci&container=buildkitd", "linux/amd64": "unix:///run/bk.sock"}},
		{spec: "linux/arm64", err: "<platform>=<builder>"},
		{spec: "arm64=tcp://a:1", err: "bad platform"},
		{spec: "linux/arm64=tcp://a:1,linux/arm64=tcp://b:1", err: "two builders for linux/arm64"},
		{spec: "linux/arm64=my-context", err: "docker context names are not BuildKit addresses"},
	} {
		got, err := ParseBuilders(c.spec)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.spec, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: %v, %v; want %v", c.spec, got, err, c.want)
		}
	}
}

func TestGroupByBuilder(t *testing.T) {
	b := New(nil, Options{Builders: map[string]string{"linux/arm64": "tcp://a:1", "linux/s390x": "tcp://a:1", "linux/riscv64": "tcp://b:1"}})
	got := b.groupByBuilder([]string{"linux/amd64", "linux/arm64", "linux/riscv64", "linux/s390x"})
	want := []builderGroup{{"", []string{"linux/amd64"}}, {"tcp://a:1", []string{"linux/arm64", "linux/s390x"}}, {"tcp://b:1", []string{"linux/riscv64"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("groups %v, want %v", got, want)
	}
}
