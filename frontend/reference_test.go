package frontend

import "testing"

func TestExpandReference(t *testing.T) {
	for _, tc := range []struct{ in, want, withTag string }{
		{"redis", "docker.io/library/redis", "docker.io/library/redis:latest"},
		{"redis:7", "docker.io/library/redis:7", "docker.io/library/redis:7"},
		{"foo/bar", "docker.io/foo/bar", "docker.io/foo/bar:latest"},
		{"linuxkit/init:abc", "docker.io/linuxkit/init:abc", "docker.io/linuxkit/init:abc"},
		{"myregistry.io/foo", "myregistry.io/foo", "myregistry.io/foo:latest"},
		{"localhost/foo", "localhost/foo", "localhost/foo:latest"},
		{"127.0.0.1:5000/foo", "127.0.0.1:5000/foo", "127.0.0.1:5000/foo:latest"},
		{"foo/bar/baz", "foo/bar/baz", "foo/bar/baz:latest"},
		{"ghcr.io/x/y:1", "ghcr.io/x/y:1", "ghcr.io/x/y:1"},
		{"foo/bar@sha256:abc", "docker.io/foo/bar@sha256:abc", "docker.io/foo/bar@sha256:abc"},
	} {
		if got := ExpandReference(tc.in); got != tc.want {
			t.Errorf("ExpandReference(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := ExpandReferenceWithTag(tc.in); got != tc.withTag {
			t.Errorf("ExpandReferenceWithTag(%q) = %q, want %q", tc.in, got, tc.withTag)
		}
	}
}
