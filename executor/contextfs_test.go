package executor

import (
	"context"
	"io"
	gofs "io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestContextFSMounts(t *testing.T) {
	root := t.TempDir()
	write := func(p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("pkg/Dockerfile", "FROM scratch\n")
	write("pkg/vendor/old/hidden", "replaced by the mount")
	write("pkg/vendor.txt", "sorts after vendor/")
	write("lib/a/version.txt", "1.2.3")
	write("other/x", "x")
	fs, err := contextFS(filepath.Join(root, "pkg"), []ContextMount{
		{Src: filepath.Join(root, "lib"), Dst: "vendor/old"},
		{Src: filepath.Join(root, "other"), Dst: "deep/down/other"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var walked []string
	err = fs.Walk(context.Background(), "", func(p string, e gofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		walked = append(walked, filepath.ToSlash(p))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Dockerfile", "deep", "deep/down", "deep/down/other", "deep/down/other/x",
		"vendor", "vendor/old", "vendor/old/a", "vendor/old/a/version.txt", "vendor.txt"}
	if !reflect.DeepEqual(walked, want) {
		t.Fatalf("walk order\n got %q\nwant %q", walked, want)
	}
	for _, target := range []string{".", "/", "vendor/old/", "./deep/down/other/x"} {
		n := 0
		if err := fs.Walk(context.Background(), target, func(string, gofs.DirEntry, error) error { n++; return nil }); err != nil || n == 0 {
			t.Errorf("walking target %q: %d entries, %v", target, n, err)
		}
	}
	r, err := fs.Open("vendor/old/a/version.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if b, _ := io.ReadAll(r); string(b) != "1.2.3" {
		t.Fatalf("read %q through the mount", b)
	}
	if _, err := contextFS(filepath.Join(root, "pkg"), []ContextMount{{Src: root, Dst: "../x"}}); err == nil {
		t.Fatal("a destination outside the context must be refused")
	}
}
