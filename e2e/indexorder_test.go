package e2e

import (
	"testing"
)

// A multi-arch index has one digest however its platforms were built: all at once, the native one first and the
// others later, or the others first.
func TestIndexDigestIndependentOfBuildOrder(t *testing.T) {
	all := newBuildEnv(t)
	all.pkg("pkg/o", "image: order\narches: [amd64, arm64, s390x]\n", "FROM busybox:fixture\nRUN uname -m > /arch\n")
	all.mustBuild(nil, "pkg/o")
	tag := all.tag("pkg/o")
	want := all.rawDigest(tag)
	for _, order := range [][]string{
		{"linux/amd64", "linux/arm64,linux/s390x"},
		{"linux/s390x", "linux/arm64", "linux/amd64"},
	} {
		e := newBuildEnv(t)
		e.repo = all.repo
		for _, platforms := range order {
			e.mustBuild(nil, "--platforms", platforms, "pkg/o")
		}
		checkOCILayout(t, e.cache)
		if got := e.rawDigest(tag); got != want {
			t.Errorf("built in the order %v: index %s, built at once %s", order, got, want)
		}
	}
}
