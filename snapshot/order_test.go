package snapshot

import (
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestCanonicalOrder(t *testing.T) {
	img := func(name, os, arch, variant string) ocispec.Descriptor {
		return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString(name),
			Platform: &ocispec.Platform{OS: os, Architecture: arch, Variant: variant}}
	}
	att := func(name string, of ocispec.Descriptor) ocispec.Descriptor {
		return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString(name),
			Platform:    &ocispec.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{AnnotationReferenceDigest: of.Digest.String(), "vnd.docker.reference.type": "attestation-manifest"}}
	}
	amd, arm, armv7, s390 := img("amd", "linux", "amd64", ""), img("arm", "linux", "arm64", ""), img("armv7", "linux", "arm", "v7"), img("s390", "linux", "s390x", "")
	amdAtt, armAtt, s390Att := att("amd-att", amd), att("arm-att", arm), att("s390-att", s390)
	orphan := att("orphan", img("gone", "linux", "riscv64", ""))
	noPlatform := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("bare")}
	want := []ocispec.Descriptor{amd, amdAtt, armv7, arm, armAtt, s390, s390Att}
	for _, tc := range []struct {
		name string
		in   []ocispec.Descriptor
		want []ocispec.Descriptor
	}{
		{"already canonical", want, want},
		{"BuildKit's order: images, then attestations", []ocispec.Descriptor{s390, arm, amd, armv7, s390Att, armAtt, amdAtt}, want},
		{"native first, others merged later", []ocispec.Descriptor{arm, armAtt, amd, amdAtt, s390, s390Att, armv7}, want},
		{"reversed", reversed(want), want},
		{"attestation of an absent image and a child without platform go last, by digest",
			[]ocispec.Descriptor{noPlatform, orphan, arm}, append([]ocispec.Descriptor{arm}, sortedByDigest(noPlatform, orphan)...)},
		{"empty", nil, []ocispec.Descriptor{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := CanonicalOrder(tc.in)
			if !slices.EqualFunc(got, tc.want, func(a, b ocispec.Descriptor) bool { return a.Digest == b.Digest }) {
				t.Fatalf("got %v\nwant %v", shortDigests(got), shortDigests(tc.want))
			}
		})
	}
}

func sortedByDigest(ds ...ocispec.Descriptor) []ocispec.Descriptor {
	return slices.SortedFunc(slices.Values(ds), func(a, b ocispec.Descriptor) int {
		return strings.Compare(string(a.Digest), string(b.Digest))
	})
}

func shortDigests(ds []ocispec.Descriptor) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Digest.Encoded()[:8])
	}
	return out
}

func reversed(ds []ocispec.Descriptor) []ocispec.Descriptor {
	out := slices.Clone(ds)
	slices.Reverse(out)
	return out
}
