package frontend

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParseBytes checks that any input yields either a spec with an image or a FieldError naming the file,
// never a panic; and that a label can always be encoded for what parses.
func FuzzParseBytes(f *testing.F) {
	for _, seed := range []string{"image: a\n", "image: a\nnetwork: yes\narches: [amd64]\n", "config: 3", "- x", "a: [",
		"image: a\nconfig:\n  devices:\n    - {path: /x, major: 1}\n  uid: root\n  runtime: {bindNS: {net: /x}}\n",
		"image: a\ndepends:\n  docker-images:\n    list: [a@sha256:00]\n", "image: &a x\norg: *a\n", "image: !!binary aGk=\n",
		"image: a\nconfig: {uid: {1: 2}, additionalGids: [[1]]}\n"} {
		f.Add([]byte(seed))
	}
	matches, _ := filepath.Glob(filepath.Join("testdata", "*", "build.yml"))
	for _, m := range matches {
		if b, err := os.ReadFile(m); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p *ParsedSpec
		var err error
		done := make(chan struct{})
		go func() { p, err = ParseBytes("build.yml", data); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("parsing took over 5s: %q", data)
		}
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.File != "build.yml" {
				t.Fatalf("error %q (%T) is not a FieldError naming the file", err, err)
			}
			return
		}
		if p.Image == "" || p.Tag == "" || p.Dockerfile == "" {
			t.Fatalf("parsed spec lacks required values: %+v", p.Spec)
		}
		if _, err := p.ConfigLabelValue(); err != nil {
			t.Fatalf("label encoding failed for a parsed spec: %v", err)
		}
	})
}
