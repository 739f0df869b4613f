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
	write := fileWriter(t, root)
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

// A mount at the context root is laid over the package directory: both trees show, the mount's files win on
// equal paths, and a later mount at a subdirectory still replaces that directory whole.
func TestContextFSRootOverlay(t *testing.T) {
	root := t.TempDir()
	write := fileWriter(t, root)
	write("pkg/Dockerfile", "FROM scratch\n")
	write("pkg/common/own.txt", "package's")
	write("pkg/shared.txt", "package's")
	write("pkg/was-dir/inner", "hidden by the file of the overlay")
	write("src/shared.txt", "overlay's")
	write("src/common/extra.txt", "overlay's")
	write("src/was-dir", "a file now")
	write("src/vendor/gone", "replaced by the later mount")
	write("lib/v.txt", "1.2.3")
	for _, dst := range []string{"/", ".", ""} {
		t.Run("dst="+dst, func(t *testing.T) {
			fs, err := contextFS(filepath.Join(root, "pkg"), []ContextMount{
				{Src: filepath.Join(root, "src"), Dst: dst},
				{Src: filepath.Join(root, "lib"), Dst: "/vendor"},
			})
			if err != nil {
				t.Fatal(err)
			}
			var walked []string
			if err := fs.Walk(context.Background(), "", func(p string, e gofs.DirEntry, err error) error {
				walked = append(walked, filepath.ToSlash(p))
				return err
			}); err != nil {
				t.Fatal(err)
			}
			want := []string{"Dockerfile", "common", "common/extra.txt", "common/own.txt", "shared.txt",
				"vendor", "vendor/v.txt", "was-dir"}
			if !reflect.DeepEqual(walked, want) {
				t.Fatalf("walk\n got %q\nwant %q", walked, want)
			}
			for p, want := range map[string]string{"Dockerfile": "FROM scratch\n", "shared.txt": "overlay's",
				"common/own.txt": "package's", "common/extra.txt": "overlay's", "was-dir": "a file now", "vendor/v.txt": "1.2.3"} {
				r, err := fs.Open(p)
				if err != nil {
					t.Fatalf("open %s: %v", p, err)
				}
				b, _ := io.ReadAll(r)
				r.Close()
				if string(b) != want {
					t.Errorf("%s: %q, want %q", p, b, want)
				}
			}
		})
	}
}

// fileWriter writes files below root, making their directories.
func fileWriter(t *testing.T, root string) func(path, content string) {
	return func(p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
