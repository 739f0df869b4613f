package frontend

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseDefaults(t *testing.T) {
	p, err := ParseBytes("build.yml", []byte("image: foo\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Spec{Image: "foo", Org: "linuxkit", Tag: "{{.Hash}}", Dockerfile: "Dockerfile",
		Arches: []string{"amd64", "arm64", "riscv64"}, GitRepo: "https://github.com/linuxkit/linuxkit"}
	if !reflect.DeepEqual(p.Spec, want) {
		t.Fatalf("got %+v\nwant %+v", p.Spec, want)
	}
}

func TestParseYAMLSemantics(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		check    func(*Spec) bool
	}{
		{"network yes is true", "image: a\nnetwork: yes\n", func(s *Spec) bool { return s.Network }},
		{"disable-cache on is true", "image: a\ndisable-cache: on\n", func(s *Spec) bool { return s.DisableCache }},
		{"network no is false", "image: a\nnetwork: no\n", func(s *Spec) bool { return !s.Network }},
		{"empty arches skips the package", "image: a\narches:\n", func(s *Spec) bool { return s.Arches == nil }},
		{"explicit arches replace the default", "image: a\narches: [s390x]\n", func(s *Spec) bool { return reflect.DeepEqual(s.Arches, []string{"s390x"}) }},
		{"numeric image keeps its text", "image: 0666\n", func(s *Spec) bool { return s.Image == "0666" }},
		{"empty tag falls back to the hash", "image: a\ntag: \"\"\n", func(s *Spec) bool { return s.Tag == "{{.Hash}}" }},
		{"only the first document is read", "image: a\n---\nimage: b\n", func(s *Spec) bool { return s.Image == "a" }},
		{"content trust switch", "image: a\ndisable-content-trust: true\n", func(s *Spec) bool { return s.DisableContentTrust }},
		{"depends list", "image: a\ndepends:\n  docker-images:\n    target-dir: deps\n    list: [x@sha256:" + strings.Repeat("a", 64) + "]\n",
			func(s *Spec) bool {
				return s.Depends.DockerImages.TargetDir == "deps" && len(s.Depends.DockerImages.List) == 1
			}},
		{"buildArgs", "image: a\nbuildArgs:\n  - A=b=c\n", func(s *Spec) bool { return (*s.BuildArgs)[0] == "A=b=c" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseBytes("build.yml", []byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(&p.Spec) {
				t.Fatalf("unexpected spec %+v", p.Spec)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string // substrings of the message, in order
	}{
		{"empty file", "", []string{"build.yml: ", "empty", "image: <name>"}},
		{"comments only", "# nothing\n", []string{"build.yml: ", "empty"}},
		{"syntax error", "image: a\narches: [amd64\n", []string{"build.yml:", "YAML syntax error"}},
		{"tab indentation", "image: a\n\tnetwork: true\n", []string{"build.yml:2", "YAML syntax error"}},
		{"top-level list", "- image: a\n", []string{"build.yml:1", "expected a mapping"}},
		{"unknown key", "image: a\nnetwrok: true\n", []string{"build.yml:2: netwrok: unknown key"}}, //nolint:misspell // a deliberate typo: the input under test
		{"unknown nested key", "image: a\nconfig:\n  pids: host\n", []string{"build.yml:3: config.pids: unknown key"}},
		{"unknown depends key", "image: a\ndepends:\n  docker-images:\n    targets: x\n", []string{"build.yml:4: depends.docker-images.targets: unknown key"}},
		{"arches scalar", "image: a\narches: amd64\n", []string{"build.yml:2: arches: expected a list", `"amd64"`}},
		{"network maybe", "image: a\nnetwork: maybe\n", []string{"build.yml:2: network: expected true or false", `"maybe"`}},
		{"config scalar", "image: a\nconfig: 3\n", []string{"build.yml:2: config: expected a mapping"}},
		{"device major text", "image: a\nconfig:\n  devices:\n    - path: /x\n      major: five\n", []string{"build.yml:5: config.devices[0].major: expected a whole number"}},
		{"missing image", "org: foo\n", []string{"build.yml: image: is required"}},
		{"empty image", "image: \"\"\n", []string{"image: is required"}},
		{"empty org", "image: a\norg: \"\"\n", []string{"build.yml:2: org: is empty"}},
		{"platform in arches", "image: a\narches: [linux/amd64]\n", []string{"build.yml:2: arches[0]", `write the architecture alone (e.g. "amd64")`}},
		{"unknown arch", "image: a\narches:\n  - amd64\n  - x86\n", []string{"build.yml:4: arches[1]: unknown architecture \"x86\""}},
		{"one-line mapping for a list", "image: a\nbuildArgs: {A: b}\n", []string{"build.yml:2: buildArgs: expected a list", "got a mapping"}},
		{"one-line mapping, wrong leaf", "image: a\nconfig: {binds: [/a], readonly: 3}\n", []string{"build.yml:2: config.readonly: expected true or false"}},
		{"one-line list item, wrong leaf", "image: a\nconfig: {devices: [{path: /x, major: 1, minor: five}]}\n", []string{"build.yml:2: config.devices[0].minor: expected a whole number", `"five"`}},
		{"long value shortened by yaml", "image: a\nconfig: {devices: [{path: /dev/x, type: c, major: fivehundred}]}\n", []string{"config.devices[0].major: expected a whole number"}},
		{"build arg without =", "image: a\nbuildArgs: [FOO]\n", []string{"build.yml:2: buildArgs[0]", "KEY=VALUE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseBytes("build.yml", []byte(tc.in))
			if err == nil {
				t.Fatal("expected an error")
			}
			assertInOrder(t, err.Error(), tc.want)
		})
	}
}

func TestUnknownKeySuggestions(t *testing.T) {
	for _, tc := range []struct{ in, suggest, lists string }{
		{"image: a\nnetwrok: true\n", `did you mean "network"?`, "disable-content-trust, dockerfile"}, //nolint:misspell // a deliberate typo: the input under test
		{"image: a\nconfig:\n  pids: host\n", `did you mean "pid"?`, "noNewPrivileges, oomScoreAdj"},
		{"image: a\ndepends:\n  docker-images:\n    targets: x\n", `did you mean "target"?`, "from-file, list, target, target-dir."},
		{"image: a\nconfig:\n  devices:\n    - path: /x\n      majr: 1\n", `did you mean "major"?`, "major, minor, mode, path, type."},
		{"image: a\nconfig:\n  mounts:\n    - destnation: /x\n", `did you mean "destination"?`, "destination"},
		{"image: a\nzzzzzz: 1\n", "", "arches, buildArgs"},
	} {
		_, err := ParseBytes("build.yml", []byte(tc.in))
		if err == nil {
			t.Fatalf("%q: expected an error", tc.in)
		}
		msg := err.Error()
		if tc.suggest != "" && !strings.Contains(msg, tc.suggest) || tc.suggest == "" && strings.Contains(msg, "did you mean") {
			t.Errorf("%q: %s", tc.in, msg)
		}
		if !strings.Contains(msg, tc.lists) {
			t.Errorf("%q: valid keys missing from %s", tc.in, msg)
		}
	}
}

func TestParseFileMissing(t *testing.T) {
	_, err := ParseFile(filepath.Join(t.TempDir(), "build.yml"))
	if err == nil || !strings.Contains(err.Error(), "a package directory needs a build.yml") {
		t.Fatalf("got %v", err)
	}
}

func TestParseFileUnreadable(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "build.yml"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseFile(filepath.Join(dir, "build.yml")); err == nil || !strings.Contains(err.Error(), "build.yml is a directory: --build-yml names") {
		t.Fatalf("got %v", err)
	}
}

func assertInOrder(t *testing.T, msg string, want []string) {
	t.Helper()
	rest := msg
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("message %q lacks %q", msg, w)
		}
		rest = rest[i+len(w):]
	}
}
