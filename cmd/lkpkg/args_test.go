package main

import (
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
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

// A flag declared at several levels reads from where it was given, as a cobra persistent flag does: urfave/cli
// alone reads the innermost declaration, empty when the flag was given to the root.
func TestFlagFromWhereItWasGiven(t *testing.T) {
	for _, tc := range []struct {
		args      string
		env       string
		wantOrg   string
		wantCache string
	}{
		{args: "app pkg build", wantOrg: "", wantCache: "/default"},
		{args: "app pkg --org p build", wantOrg: "p", wantCache: "/default"},
		{args: "app pkg build --org b", wantOrg: "b", wantCache: "/default"},
		{args: "app pkg --org p build --org b", wantOrg: "b", wantCache: "/default"},
		{args: "app --cache /root pkg build", wantCache: "/root"},
		{args: "app pkg build --cache /inner", wantCache: "/inner"},
		{args: "app pkg build", env: "/env", wantCache: "/env"},
		{args: "app --cache /root pkg build", env: "/env", wantCache: "/root"},
	} {
		t.Run(tc.args+" "+tc.env, func(t *testing.T) {
			t.Setenv("LINUXKIT_CACHE", tc.env)
			t.Setenv("HOME", "/nonexistent-home")
			var org, cache string
			orgFlag := func() cli.Flag { return &cli.StringFlag{Name: "org"} }
			app := &cli.App{Flags: []cli.Flag{cacheFlag()}, Commands: []*cli.Command{{
				Name: "pkg", Flags: []cli.Flag{orgFlag()},
				Subcommands: []*cli.Command{{Name: "build", Flags: []cli.Flag{orgFlag(), cacheFlag()},
					Action: func(c *cli.Context) error {
						org = flagString(c, "org")
						var err error
						cache, err = cacheDir(c)
						return err
					}}},
			}}}
			if err := app.Run(strings.Fields(tc.args)); err != nil {
				t.Fatal(err)
			}
			wantCache := tc.wantCache
			if wantCache == "/default" {
				wantCache = "/nonexistent-home/.linuxkit/cache"
			}
			if org != tc.wantOrg || cache != wantCache {
				t.Errorf("org %q cache %q, want %q %q", org, cache, tc.wantOrg, wantCache)
			}
		})
	}
}
