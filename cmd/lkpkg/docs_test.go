package main

import (
	"flag"
	"os"
	"testing"
)

// cliReference is the CLI reference generated from the app (`make docs` rewrites it).
const cliReference = "../../docs/cli.md"

var updateDocs = flag.Bool("update-docs", false, "rewrite "+cliReference+" from the app instead of comparing")

// TestCLIReference checks that docs/cli.md is what urfave/cli generates from the app, so a flag or command
// changed without `make docs` fails here.
func TestCLIReference(t *testing.T) {
	got, err := cliMarkdown()
	if err != nil {
		t.Fatal(err)
	}
	if *updateDocs {
		if err := os.WriteFile(cliReference, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(cliReference)
	if err != nil {
		t.Fatalf("%v: run make docs", err)
	}
	if string(want) != got {
		t.Errorf("%s is not current: run make docs and commit it", cliReference)
	}
}

// cliMarkdown is the app's reference in Markdown, with a header saying where it comes from.
func cliMarkdown() (string, error) {
	md, err := newApp().ToMarkdown()
	if err != nil {
		return "", err
	}
	return "<!-- Generated from the CLI by `make docs` (cmd/lkpkg/docs_test.go); do not edit. -->\n\n" + md, nil
}
