package frontend

import (
	"os"
	"path/filepath"
	"strings"
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

// A config value of the wrong shape is refused when build.yml is read, naming the file, the line and the key,
// never as an encoding error of the label.
func TestConfigWrongShape(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		want         []string
	}{
		{"uid mapping with number keys", "uid: {1: 2}", []string{"build.yml:3: config.uid:", "got a mapping", "user id (e.g. 1000) or a user name"}},
		{"uid mapping", "uid: {name: root}", []string{"build.yml:3: config.uid:", "got a mapping"}},
		{"gid list", "gid: [1, 2]", []string{"build.yml:3: config.gid:", "got a list", "group id"}},
		{"gid boolean", "gid: true", []string{"build.yml:3: config.gid:", "got the boolean true"}},
		{"uid negative", "uid: -1", []string{"build.yml:3: config.uid:", "-1 is out of range"}},
		{"uid too large", "uid: 4294967296", []string{"config.uid:", "out of range"}},
		{"uid fraction", "uid: 1.5", []string{"config.uid:", "1.5 is not a whole number"}},
		{"uid empty", "uid: ''", []string{"config.uid:", "is empty"}},
		{"additionalGids mapping item", "additionalGids: [10, {1: 2}]", []string{"build.yml:3: config.additionalGids[1]:", "got a mapping"}},
		{"additionalGids nested list", "additionalGids:\n    - [1]", []string{"build.yml:4: config.additionalGids[0]:", "got a list"}},
		{"uidMappings mapping", "uidMappings: {containerid: 0}", []string{"build.yml:3: config.uidMappings:", "expected a list"}},
		{"uidMappings item of wrong keys", "uidMappings: [{0: 1}]", []string{"build.yml:3: config.uidMappings[0].0: unknown key", "containerid, hostid, size"}},
		{"gidMappings item a list", "gidMappings: [[0, 1000, 1]]", []string{"build.yml:3: config.gidMappings[0]:", "expected a mapping of keys, got a list"}},
		{"gidMappings negative", "gidMappings: [{containerid: -1, hostid: 0, size: 1}]", []string{"build.yml:3: config.gidMappings[0].containerid:", "expected a whole number"}},
		{"sysctl nested", "sysctl: {a: {b: c}}", []string{"build.yml:3: config.sysctl.a:", "expected a string, got a mapping"}},
		{"capabilities mapping", "capabilities: {a: b}", []string{"build.yml:3: config.capabilities:", "expected a list"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseBytes("build.yml", []byte("image: a\nconfig:\n  "+tc.config+"\n"))
			if err == nil {
				t.Fatal("expected an error")
			}
			assertInOrder(t, err.Error(), tc.want)
			if strings.Contains(err.Error(), "json:") || strings.Contains(err.Error(), "interface {}") {
				t.Errorf("raw library message: %v", err)
			}
		})
	}
	for _, ok := range []string{"uid: 0", "uid: root", "gid: 4294967295", "additionalGids: [1, wheel]"} {
		p, err := ParseBytes("build.yml", []byte("image: a\nconfig:\n  "+ok+"\n"))
		if err != nil {
			t.Errorf("%s: %v", ok, err)
			continue
		}
		if _, err := p.ConfigLabelValue(); err != nil {
			t.Errorf("%s: label: %v", ok, err)
		}
	}
}
