package snapshot

import (
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestImageArch(t *testing.T) {
	for _, tc := range []struct {
		platform *ocispec.Platform
		arch     string
		ok       bool
	}{
		{&ocispec.Platform{OS: "linux", Architecture: "arm64"}, "arm64", true},
		{&ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, "arm", true},
		{&ocispec.Platform{OS: "unknown", Architecture: "unknown"}, "", false},
		{&ocispec.Platform{OS: "linux"}, "", false},
		{nil, "", false},
	} {
		arch, ok := ImageArch(ocispec.Descriptor{Platform: tc.platform})
		if arch != tc.arch || ok != tc.ok {
			t.Errorf("ImageArch(%v) = %q, %v; want %q, %v", tc.platform, arch, ok, tc.arch, tc.ok)
		}
		if ok {
			if got := ArchName("docker.io/linuxkit/init:abc", arch); got != "docker.io/linuxkit/init:abc-"+tc.arch {
				t.Errorf("ArchName = %q", got)
			}
		}
	}
}

func TestPlatformArch(t *testing.T) {
	for in, want := range map[string]string{"linux/amd64": "amd64", "linux/arm/v7": "arm", "s390x": "s390x"} {
		if got := PlatformArch(in); got != want {
			t.Errorf("PlatformArch(%q) = %q, want %q", in, got, want)
		}
	}
}

// The two merges linuxkit does tell platforms apart differently: the cache's ignores the variant, the registry's
// the OS version.
func TestMergeKeys(t *testing.T) {
	v7 := &ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
	v6 := &ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}
	win1 := &ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.1"}
	win2 := &ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.2"}
	if cacheMergeKey(v7) != cacheMergeKey(v6) || RegistryMergeKey(v7) == RegistryMergeKey(v6) {
		t.Errorf("variants: cache keys %q %q, registry keys %q %q", cacheMergeKey(v7), cacheMergeKey(v6),
			RegistryMergeKey(v7), RegistryMergeKey(v6))
	}
	if cacheMergeKey(win1) == cacheMergeKey(win2) || RegistryMergeKey(win1) != RegistryMergeKey(win2) {
		t.Errorf("os versions: cache keys %q %q, registry keys %q %q", cacheMergeKey(win1), cacheMergeKey(win2),
			RegistryMergeKey(win1), RegistryMergeKey(win2))
	}
}
