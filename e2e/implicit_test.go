package e2e

import (
	"os/exec"
	"strings"
	"testing"
)

// buildNoNetwork runs `lkpkg pkg build` in a network namespace of its own with nothing but loopback, so that
// no registry at all can be reached.
func (e *buildEnv) buildNoNetwork(env []string, args ...string) result {
	e.t.Helper()
	if _, err := exec.LookPath("unshare"); err != nil {
		e.t.Fatalf("unshare (util-linux) is needed: %v", err)
	}
	full := append([]string{"--cache", e.cache, "pkg", "build", "--state-dir", e.state, "--progress", "plain"}, args...)
	return lkpkgWrapped(e.t, []string{"unshare", "--net", "--"}, e.repo.Dir, env, full...)
}

// Images a Dockerfile names outside FROM lines (COPY --from=<image>, RUN --mount=from=<image>) come from the
// linuxkit cache, with no network at all, and a package naming another of the run that way waits for it.
func TestBuildImplicitStagesFromCacheWithoutNetwork(t *testing.T) {
	e := newBuildEnv(t)
	e.pkg("pkg/marker", "image: implicit-marker\narches: [amd64, arm64]\n", "FROM busybox:fixture\nRUN uname -m > /marker\n")
	marker := strings.TrimPrefix(e.tag("pkg/marker"), "docker.io/")
	e.pkg("pkg/copy", "image: implicit-copy\narches: [amd64, arm64]\n",
		"FROM scratch\nCOPY --from=busybox:fixture /etc/passwd /\nCOPY --from="+marker+" /marker /marker\n")
	e.pkg("pkg/mount", "image: implicit-mount\narches: [amd64]\n",
		"FROM busybox:fixture\nRUN --mount=type=bind,from="+marker+",target=/m cat /m/marker > /seen\n"+
			"RUN --mount=type=cache,from="+marker+",source=/,target=/c,id=lkpkg-implicit cat /c/marker >> /seen\n")

	// The dependents first: the run orders them after pkg/marker, which they name only through --from.
	r := e.buildNoNetwork(nil, "pkg/copy", "pkg/mount", "pkg/marker")
	if r.code != 0 {
		t.Fatalf("offline build of COPY --from / RUN --mount=from cached images: exit %d\n%s", r.code, tail(r.stderr, 30))
	}
	if got := e.file(e.tag("pkg/copy"), "arm64", "marker"); got != "aarch64\n" {
		t.Errorf("COPY --from=<package image> for arm64: %q", got)
	}
	if got := e.file(e.tag("pkg/copy"), "amd64", "passwd"); !strings.HasPrefix(got, "root:") {
		t.Errorf("COPY --from=busybox:fixture: /passwd is %q", got)
	}
	if got := e.file(e.tag("pkg/mount"), "amd64", "seen"); got != "x86_64\nx86_64\n" {
		t.Errorf("RUN --mount=from=<package image> (bind, then cache): %q", got)
	}

	// --ignore-cached sends them to their registry, which cannot be reached here.
	r = e.buildNoNetwork(nil, "--ignore-cached", "--force", "pkg/copy")
	if r.code == 0 || !strings.Contains(r.stderr, "busybox") {
		t.Fatalf("--ignore-cached must look busybox:fixture up in its registry and fail offline: exit %d\n%s", r.code, tail(r.stderr, 10))
	}
}
