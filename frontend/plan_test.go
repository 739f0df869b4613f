package frontend

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lkpkg/lkpkg/frontend/gittest"
)

func planRepo(t *testing.T) *gittest.Repo {
	r := gittest.New(t)
	r.Write("pkg/app/build.yml", `image: app
arches: [amd64, arm64, s390x]
buildArgs:
  - FROM_YML=yml
  - OVERRIDDEN=yml
  - REVISION=mine
  - DEP=@lkt:pkg:../dep
config:
  net: host
`)
	r.Write("pkg/app/Dockerfile", "FROM scratch\n")
	r.Write("pkg/app/alt.Dockerfile", "FROM scratch\n")
	r.Write("pkg/dep/build.yml", "image: dep\n")
	r.Write("args/one", "OVERRIDDEN=file1\nFILE_ONLY=1\n")
	r.Write("args/two", "OVERRIDDEN=file2\nDEP2=@lkt:pkg:../pkg/dep\n")
	r.Commit()
	return r
}

func plan(t *testing.T, r *gittest.Repo, opts Options, bo BuildOptions) (*BuildPlan, error) {
	t.Helper()
	l := NewLoader(opts)
	t.Cleanup(func() { l.Close() })
	p, err := l.Load(r.Path("pkg/app"))
	if err != nil {
		t.Fatal(err)
	}
	bp, err := l.Plan(p, bo)
	if err != nil {
		return nil, err
	}
	return bp, bp.ResolveHistory()
}

func TestPlanBuildArgsAndLabels(t *testing.T) {
	r := planRepo(t)
	head := r.Git("rev-parse", "HEAD")
	bp, err := plan(t, r, Options{}, BuildOptions{
		BuildArgFiles: []string{r.Path("args/one"), r.Path("args/two")},
		Environ:       []string{"http_proxy=http://proxy:3128", "PATH=/bin"},
		ToolVersion:   "v9", ToolRevision: "abc",
	})
	if err != nil {
		t.Fatal(err)
	}
	tree := r.LsTree("pkg/app")
	dep := "linuxkit/dep:" + r.LsTree("pkg/dep")
	want := map[string]string{
		"FROM_YML": "yml", "OVERRIDDEN": "file2", "FILE_ONLY": "1", "DEP": dep, "DEP2": dep,
		"REVISION":     "mine", // automatic args never override the user's
		"http_proxy":   "http://proxy:3128",
		"SOURCE":       DefaultGitRepo,
		"PKG_HASH":     tree,
		"PKG_IMAGE":    "linuxkit/app",
		"GOPKGVERSION": GoPkgVersion("", false, time.Unix(mustAtoi(t, r.Git("log", "-1", "--format=%ct")), 0), head),
	}
	if !reflect.DeepEqual(bp.BuildArgs, want) {
		t.Errorf("build args\n got %v\nwant %v", bp.BuildArgs, want)
	}
	wantLabels := map[string]string{LabelSource: DefaultGitRepo, LabelRevision: head, ConfigLabel: `{"net":"host"}`,
		LabelToolVersion: "v9", LabelToolRevision: "abc"}
	if !reflect.DeepEqual(bp.Labels, wantLabels) {
		t.Errorf("labels\n got %v\nwant %v", bp.Labels, wantLabels)
	}
	if !reflect.DeepEqual(bp.Platforms, []string{"linux/amd64", "linux/arm64", "linux/s390x"}) || bp.Dockerfile != "Dockerfile" {
		t.Errorf("platforms %v dockerfile %s", bp.Platforms, bp.Dockerfile)
	}
}

func TestPlanDirtyDropsRevision(t *testing.T) {
	r := planRepo(t)
	r.Write("pkg/app/new", "x")
	bp, err := plan(t, r, Options{}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := bp.Labels[LabelRevision]; ok {
		t.Error("a dirty package must not carry a revision label")
	}
	if !strings.Contains(bp.BuildArgs["PKG_HASH"], "-dirty-") {
		t.Errorf("PKG_HASH %q lacks the dirty suffix", bp.BuildArgs["PKG_HASH"])
	}
}

func TestPlanPlatformsAndDockerfile(t *testing.T) {
	r := planRepo(t)
	for _, tc := range []struct {
		name    string
		bo      BuildOptions
		want    []string
		wantErr string
	}{
		{"build.yml arches", BuildOptions{}, []string{"linux/amd64", "linux/arm64", "linux/s390x"}, ""},
		{"--platforms", BuildOptions{Platforms: "linux/arm64, linux/riscv64,linux/arm64"}, []string{"linux/arm64", "linux/riscv64"}, ""},
		{"--skip-platforms", BuildOptions{SkipPlatforms: "linux/s390x,linux/amd64"}, []string{"linux/arm64"}, ""},
		{"skip everything", BuildOptions{SkipPlatforms: "linux/s390x,linux/amd64,linux/arm64"}, nil, ""},
		{"both", BuildOptions{Platforms: "linux/amd64", SkipPlatforms: "linux/arm64"}, nil, "cannot be combined"},
		{"bad platform", BuildOptions{Platforms: "amd64"}, nil, `--platforms: "amd64" is not a Linux platform`},
		{"bad skip", BuildOptions{SkipPlatforms: "arm64"}, nil, `--skip-platforms: "arm64" is not linux/<arch>`},
		{"--dockerfile", BuildOptions{Dockerfile: "alt.Dockerfile"}, []string{"linux/amd64", "linux/arm64", "linux/s390x"}, ""},
		{"--dockerfile missing", BuildOptions{Dockerfile: "nosuchfile"}, nil, `--dockerfile "nosuchfile": no such file`},
		{"--dockerfile escaping", BuildOptions{Dockerfile: "../dep/build.yml"}, nil, "must be a relative path inside the package directory"},
		{"--build-arg-file missing", BuildOptions{BuildArgFiles: []string{"/nonexistent"}}, nil, "--build-arg-file"},
		{"bad SOURCE_DATE_EPOCH", BuildOptions{Environ: []string{"SOURCE_DATE_EPOCH=yesterday"}}, nil, "SOURCE_DATE_EPOCH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bp, err := plan(t, r, Options{}, tc.bo)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(bp.Platforms, tc.want) {
				t.Fatalf("platforms %v, want %v", bp.Platforms, tc.want)
			}
			if tc.bo.Dockerfile != "" && bp.Dockerfile != tc.bo.Dockerfile {
				t.Fatalf("dockerfile %s", bp.Dockerfile)
			}
		})
	}
}

func TestPlanSourceDateEpoch(t *testing.T) {
	r := planRepo(t)
	bp, err := plan(t, r, Options{}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := time.Unix(mustAtoi(t, r.Git("log", "-1", "--format=%ct", "--", "pkg/app")), 0).UTC()
	if !bp.SourceDateEpoch.Equal(want) {
		t.Errorf("from git: got %v, want %v", bp.SourceDateEpoch, want)
	}
	bp, err = plan(t, r, Options{}, BuildOptions{Environ: []string{"SOURCE_DATE_EPOCH=1234"}})
	if err != nil {
		t.Fatal(err)
	}
	if bp.SourceDateEpoch.Unix() != 1234 {
		t.Errorf("from env: got %v", bp.SourceDateEpoch)
	}
}

func TestGoPkgVersion(t *testing.T) {
	ts := time.Date(2026, 3, 27, 12, 26, 5, 0, time.FixedZone("CET", 3600))
	commit := "3bf33c3a11fc0123456789abcdef0123456789ab"
	for _, tc := range []struct {
		tag  string
		atHd bool
		want string
	}{
		{"", false, "v0.0.0-20260327112605-3bf33c3a11fc"},
		{"v1.2.3", true, "v1.2.3"},
		{"v1.2.3", false, "v1.2.4-0.20260327112605-3bf33c3a11fc"},
		{"v2.0.0-rc.1", false, "v2.0.0-rc.1.0.20260327112605-3bf33c3a11fc"},
		{"v1.2", false, "v0.0.0-20260327112605-3bf33c3a11fc"}, // not semver: ignored
	} {
		if got := GoPkgVersion(tc.tag, tc.atHd, ts, commit); got != tc.want {
			t.Errorf("GoPkgVersion(%q, %v) = %s, want %s", tc.tag, tc.atHd, got, tc.want)
		}
	}
}

func TestPlanGoPkgVersionFromTags(t *testing.T) {
	r := planRepo(t)
	r.Git("tag", "v1.4.0")
	bp, err := plan(t, r, Options{}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if bp.BuildArgs["GOPKGVERSION"] != "v1.4.0" {
		t.Fatalf("tag at HEAD: got %s", bp.BuildArgs["GOPKGVERSION"])
	}
	r.Write("pkg/other/x", "x")
	r.Commit()
	bp, err = plan(t, r, Options{}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v := bp.BuildArgs["GOPKGVERSION"]; !strings.HasPrefix(v, "v1.4.1-0.") || !strings.HasSuffix(v, r.Git("rev-parse", "--short=12", "HEAD")) {
		t.Fatalf("after the tag: got %s", v)
	}
}

func TestPlanLeavesHistoryToResolveHistory(t *testing.T) {
	r := planRepo(t)
	r.Write("args/version", "GOPKGVERSION=v7.0.0\n")
	r.Commit()
	l := NewLoader(Options{})
	t.Cleanup(func() { l.Close() })
	p, err := l.Load(r.Path("pkg/app"))
	if err != nil {
		t.Fatal(err)
	}
	bp, err := l.Plan(p, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := bp.BuildArgs["GOPKGVERSION"]; ok || !bp.SourceDateEpoch.IsZero() {
		t.Fatalf("Plan asked git for history: GOPKGVERSION=%q, SourceDateEpoch=%v", v, bp.SourceDateEpoch)
	}
	for range 2 { // idempotent
		if err := bp.ResolveHistory(); err != nil {
			t.Fatal(err)
		}
	}
	want := time.Unix(mustAtoi(t, r.Git("log", "-1", "--format=%ct", "--", "pkg/app")), 0).UTC()
	if v := bp.BuildArgs["GOPKGVERSION"]; !strings.HasPrefix(v, "v0.0.0-") || !bp.SourceDateEpoch.Equal(want) {
		t.Fatalf("after ResolveHistory: GOPKGVERSION=%q, SourceDateEpoch=%v (want %v)", v, bp.SourceDateEpoch, want)
	}

	// What the user sets stays.
	bp, err = l.Plan(p, BuildOptions{BuildArgFiles: []string{r.Path("args/version")}, Environ: []string{"SOURCE_DATE_EPOCH=99"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := bp.ResolveHistory(); err != nil {
		t.Fatal(err)
	}
	if v := bp.BuildArgs["GOPKGVERSION"]; v != "v7.0.0" || bp.SourceDateEpoch.Unix() != 99 {
		t.Fatalf("user values replaced: GOPKGVERSION=%q, SourceDateEpoch=%v", v, bp.SourceDateEpoch)
	}
}

func mustAtoi(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("not a number: %q", s)
		}
		n = n*10 + int64(c-'0')
	}
	return n
}
