package registry

import (
	"reflect"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/lkpkg/lkpkg/snapshot"
)

func img(name, os, arch, variant string) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString(name), Size: 1,
		Platform: &ocispec.Platform{OS: os, Architecture: arch, Variant: variant}}
}

func att(name string, of ocispec.Descriptor) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString(name), Size: 1,
		Platform:    &ocispec.Platform{OS: "unknown", Architecture: "unknown"},
		Annotations: map[string]string{snapshot.AnnotationReferenceDigest: of.Digest.String(), "vnd.docker.reference.type": "attestation-manifest"}}
}

func index(children ...ocispec.Descriptor) ocispec.Index {
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: children}
	idx.SchemaVersion = 2
	return idx
}

func names(idx ocispec.Index, all map[digest.Digest]string) []string {
	out := []string{}
	for _, d := range idx.Manifests {
		out = append(out, all[d.Digest])
	}
	return out
}

func TestMergeIndex(t *testing.T) {
	amd, amdOld := img("amd", "linux", "amd64", ""), img("amd-old", "linux", "amd64", "")
	arm, armOld := img("arm", "linux", "arm64", ""), img("arm-old", "linux", "arm64", "")
	armV7, armV6 := img("armv7", "linux", "arm", "v7"), img("armv6", "linux", "arm", "v6")
	s390x := img("s390x", "linux", "s390x", "")
	amdAtt, amdOldAtt, armOldAtt, armAtt := att("amd-att", amd), att("amd-old-att", amdOld), att("arm-old-att", armOld), att("arm-att", arm)
	dangling := att("dangling", img("gone", "linux", "ppc64le", ""))
	all := map[digest.Digest]string{}
	for n, d := range map[string]ocispec.Descriptor{"amd": amd, "amd-old": amdOld, "arm": arm, "arm-old": armOld,
		"armv7": armV7, "armv6": armV6, "s390x": s390x, "amd-att": amdAtt, "amd-old-att": amdOldAtt,
		"arm-old-att": armOldAtt, "arm-att": armAtt, "dangling": dangling} {
		all[d.Digest] = n
	}
	for _, tc := range []struct {
		name          string
		local, remote ocispec.Index
		want          []string
		unchanged     bool
	}{
		{"second machine adds its arch", index(amd, amdAtt), index(arm, armAtt),
			[]string{"amd", "amd-att", "arm", "arm-att"}, false},
		{"local wins per platform, its old attestation goes", index(amd, amdAtt), index(amdOld, amdOldAtt, arm, armAtt),
			[]string{"amd", "amd-att", "arm", "arm-att"}, false},
		{"rebuild of both arches replaces both", index(amd, arm), index(amdOld, armOld, amdOldAtt, armOldAtt, s390x),
			[]string{"amd", "arm", "s390x"}, false},
		{"variant is part of the platform", index(armV7), index(armV6, s390x),
			[]string{"armv6", "armv7", "s390x"}, false}, // canonical order: by platform
		{"same variant replaced", index(armV7), index(img("armv7-old", "linux", "arm", "v7")),
			[]string{"armv7"}, false},
		{"dangling remote attestation dropped", index(amd), index(arm, dangling),
			[]string{"amd", "arm"}, false},
		{"remote attestation of a kept image kept", index(amd), index(armOld, armOldAtt),
			[]string{"amd", "arm-old", "arm-old-att"}, false},
		{"duplicates by digest dropped", index(amd, arm), index(arm, amdOld),
			[]string{"amd", "arm"}, false},
		{"remote superset left as it is", index(amd, amdAtt), index(arm, amd, amdAtt, dangling),
			[]string{"arm", "amd", "amd-att", "dangling"}, true},
		{"empty remote", index(amd, amdAtt), index(),
			[]string{"amd", "amd-att"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, unchanged := MergeIndex(tc.local, tc.remote)
			if unchanged != tc.unchanged {
				t.Errorf("unchanged = %v", unchanged)
			}
			if g := names(got, all); !reflect.DeepEqual(g, tc.want) {
				t.Errorf("got %v, want %v", g, tc.want)
			}
			if got.MediaType != ocispec.MediaTypeImageIndex || got.SchemaVersion != 2 {
				t.Errorf("index header lost: %+v", got)
			}
		})
	}
}
