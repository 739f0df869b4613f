package main

import (
	"strings"
	"testing"
)

func TestInterspersed(t *testing.T) {
	app := newApp()
	for _, tc := range []struct{ in, want string }{
		{"lkpkg pkg show-tag dir", "lkpkg pkg show-tag dir"},
		{"lkpkg pkg show-tag dir --org x", "lkpkg pkg show-tag --org x dir"},
		{"lkpkg pkg show-tag a --canonical b -tag t c", "lkpkg pkg show-tag --canonical -tag t a b c"},
		{"lkpkg --cache /c pkg --org o build a --force --platforms linux/amd64 b", "lkpkg --cache /c pkg --org o build --force --platforms linux/amd64 a b"},
		{"lkpkg pkg build a --manifest=false", "lkpkg pkg build --manifest=false a"},
		{"lkpkg pkg build a -- --not-a-flag", "lkpkg pkg build a -- --not-a-flag"},
		{"lkpkg cache export name --outfile - --format docker", "lkpkg cache export --outfile - --format docker name"},
		{"lkpkg pkg remote-tag from to", "lkpkg pkg remote-tag from to"},
		// Root and pkg flags after the subcommand go back to their level, as cobra's persistent flags.
		{"lkpkg pkg build --cert-file ca.pem a", "lkpkg --cert-file ca.pem pkg build a"},
		{"lkpkg pkg build a --cert-file ca.pem --force", "lkpkg --cert-file ca.pem pkg build --force a"},
		{"lkpkg pkg build a --org o", "lkpkg pkg build --org o a"}, // build declares the pkg flags too
		{"lkpkg cache pull --cert-file=ca.pem x", "lkpkg --cert-file=ca.pem cache pull x"},
		{"lkpkg pkg build --no-such-flag a", "lkpkg pkg build --no-such-flag a"},
	} {
		got := strings.Join(interspersed(app, strings.Fields(tc.in)), " ")
		if got != tc.want {
			t.Errorf("%q:\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}
