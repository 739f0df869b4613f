package frontend

import (
	"os"
	"path/filepath"
	"testing"
)

// The golden labels are what linuxkit writes for the same build.yml (getty and binfmt from linuxkit's pkg/ tree;
// kitchen exercises HTML escaping, "destination":"", zero major/minor, sorted maps and the always-present bindNS).
func TestConfigLabelGolden(t *testing.T) {
	for _, name := range []string{"getty", "binfmt", "kitchen"} {
		t.Run(name, func(t *testing.T) {
			p, err := ParseFile(filepath.Join("testdata", name, "build.yml"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.ConfigLabelValue()
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join("testdata", name, "label.golden"))
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("label mismatch\n got: %s\nwant: %s", got, want)
			}
		})
	}
}

func TestConfigLabelAbsent(t *testing.T) {
	p, err := ParseBytes("build.yml", []byte("image: foo\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := p.ConfigLabelValue(); err != nil || got != "" {
		t.Fatalf("got %q, %v; want no label", got, err)
	}
}
