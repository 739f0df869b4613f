package build

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/lkpkg/lkpkg/frontend"
)

func TestDependencies(t *testing.T) {
	mk := func(org, image, dockerfile string) *frontend.BuildPlan {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
			t.Fatal(err)
		}
		return &frontend.BuildPlan{ContextDir: dir, Dockerfile: "Dockerfile",
			Package: &frontend.Package{Org: org, Image: image, TagName: "h"}}
	}
	plans := []*frontend.BuildPlan{
		mk("linuxkit", "top", "FROM linuxkit/mid:h AS m\nFROM docker.io/linuxkit/base:h\nCOPY --from=m / /\n"),
		mk("linuxkit", "mid", "ARG B=linuxkit/base:h\nFROM ${B}\n"),
		mk("linuxkit", "base", "FROM busybox:fixture\n"),
		mk("other", "alone", "FROM scratch\n"),
	}
	want := [][]int{{1, 2}, {2}, nil, nil}
	if got := dependencies(plans); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func mustWrite(t *testing.T, w io.Writer, p []byte) {
	t.Helper()
	if _, err := w.Write(p); err != nil {
		t.Fatal(err)
	}
}

func TestPrefixWriter(t *testing.T) {
	var out bytes.Buffer
	var mu sync.Mutex
	a := &prefixWriter{out: &out, prefix: []byte("[a] "), mu: &mu}
	b := &prefixWriter{out: &out, prefix: []byte("[b] "), mu: &mu}
	mustWrite(t, a, []byte("#1 one"))
	mustWrite(t, b, []byte("#1 other\n#2 "))
	mustWrite(t, a, []byte(" done\n"))
	mustWrite(t, b, []byte("two\n"))
	want := "[b] #1 other\n[a] #1 one done\n[b] #2 two\n"
	if out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
	if strings.Count(out.String(), "\n") != 3 {
		t.Fatal("lines must stay whole")
	}
}
