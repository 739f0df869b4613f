package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestLogsAtLevel(t *testing.T) {
	for _, tc := range []struct {
		level         int
		want          []string
		buildKitDebug bool
	}{
		{levelQuiet, nil, false},
		{levelInfo, []string{"info"}, false},
		{levelDebug, []string{"info", "debug"}, false},
		{levelBuildKit, []string{"info", "debug", "buildkit"}, true},
	} {
		t.Run(fmt.Sprint(tc.level), func(t *testing.T) {
			var out bytes.Buffer
			l := logsAt(tc.level, &out)
			fmt.Fprintln(l.Info, "info")
			fmt.Fprintln(l.Debug, "debug")
			if l.BuildKit != nil {
				fmt.Fprintln(l.BuildKit, "buildkit")
			}
			if got := strings.Fields(out.String()); strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("level %d wrote %q, want %q", tc.level, got, tc.want)
			}
			if l.BuildKitDebug != tc.buildKitDebug {
				t.Errorf("level %d: BuildKitDebug %v", tc.level, l.BuildKitDebug)
			}
		})
	}
}

func TestQuietAndVerboseFlags(t *testing.T) {
	dir := t.TempDir() + "/cache"
	mustRun(t, nil, "cache", "import", "--cache", dir, fixtureTar(t))
	for _, tc := range []struct {
		args    []string
		listing bool
		err     string
	}{
		{args: []string{"cache", "ls"}, listing: true},
		{args: []string{"-q", "cache", "ls"}},
		{args: []string{"cache", "ls", "--quiet"}},
		{args: []string{"-v", "0", "cache", "ls"}},
		{args: []string{"-v", "2", "cache", "ls"}, listing: true},
		{args: []string{"-q", "-v", "2", "cache", "ls"}},
		{args: []string{"-v", "4", "cache", "ls"}, err: "--verbose 4: use 0"},
		{args: []string{"nosuch"}, err: `unknown command "nosuch" for "lkpkg"`},
		{args: []string{"cache", "nosuch"}, err: `unknown command "nosuch" for "lkpkg cache"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, err := run(t, nil, append([]string{"--cache", dir}, interspersedArgs(tc.args)...)...)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if listed := strings.Contains(out, "busybox:fixture"); listed != tc.listing {
				t.Errorf("listing printed: %v, want %v:\n%s", listed, tc.listing, out)
			}
		})
	}
}

// interspersedArgs places flags as main does, for run, which calls the app directly.
func interspersedArgs(args []string) []string {
	return interspersed(newApp(), append([]string{"lkpkg"}, args...))[1:]
}
