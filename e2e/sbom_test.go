package e2e

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// sbomScanner is a scanner image speaking BuildKit's SBOM protocol: it writes one in-toto statement with an SPDX
// predicate naming what /etc/hello of the scanned image says, so the test can tell that it saw the build result.
// BuildKit runs the scanner on the build host's platform, whatever the platforms scanned: the tests build it for
// the host's architecture.
const sbomScanner = `#!/bin/sh
set -e
hello=$(cat "$BUILDKIT_SCAN_SOURCE/etc/hello")
printf '{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document","predicate":{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"%s"}}' "$hello" > "$BUILDKIT_SCAN_DESTINATION/scan.spdx.json"
`

// TestBuildSBOM pushes a scanner image to a registry, builds a 2-arch package with --sbom-scanner naming it and
// checks that the cache's index carries, for each platform, an attestation of that platform's image whose SPDX
// predicate the scanner made from the built files, and that the index pushes whole.
func TestBuildSBOM(t *testing.T) {
	reg := newPushRegistry(t)
	env := noCredsEnv(t)
	e := newBuildEnv(t)
	e.pkg("pkg/scanner", "image: scanner\norg: "+reg.host+"/lk\narches: ["+runtime.GOARCH+"]\n",
		"FROM busybox:fixture\nCOPY --chmod=755 scan /scan\nCMD [\"/scan\"]\n", "scan", sbomScanner)
	e.mustBuild(env, "--push", "--registry-creds", reg.creds(), "pkg/scanner")
	scanner := e.tag("pkg/scanner")

	e.pkg("pkg/app", "image: app\norg: "+reg.host+"/lk\narches: [amd64, arm64]\n",
		"FROM busybox:fixture\nRUN mkdir -p /etc && echo \"hello from $(uname -m)\" > /etc/hello\n")
	e.mustBuild(env, "--sbom-scanner", scanner, "--registry-creds", reg.creds(), "--push", "pkg/app")
	tag := e.tag("pkg/app")
	// The registry gets the index with its attestations, each child present (checked by reg.index).
	if got := reg.index(t, tag); got["unknown"] == "" || got["amd64"] == "" || got["arm64"] == "" {
		t.Errorf("pushed index %s: %v, want amd64, arm64 and attestations", tag, got)
	}

	images, sboms := e.indexAttestations(tag)
	for arch, uname := range map[string]string{"amd64": "x86_64", "arm64": "aarch64"} {
		img, ok := images[arch]
		if !ok {
			t.Fatalf("no %s image in %s", arch, tag)
		}
		if got, want := sboms[img], "hello from "+uname; got != want {
			t.Errorf("%s: the SBOM attestation of %s names %q, want %q (all: %v)", arch, img, got, want, sboms)
		}
	}
	// skopeo reads the whole entry, attestations included.
	if out, err := exec.Command("skopeo", "inspect", "--raw", e.ociRef(tag)).CombinedOutput(); err != nil {
		t.Errorf("skopeo inspect %s: %v %s", tag, err, out)
	}

	// A scanner BuildKit cannot get fails the build, saying which flag named it; nothing lands in the cache.
	e.pkg("pkg/noscan", "image: noscan\narches: [amd64]\n", "FROM busybox:fixture\nRUN echo hello > /etc/hello\n")
	missing := reg.host + "/lk/no-such-scanner:1"
	if r := e.build(env, "--sbom-scanner", missing, "--registry-creds", reg.creds(), "pkg/noscan"); r.code == 0 ||
		!strings.Contains(r.stderr, missing) || !strings.Contains(r.stderr, "that is the --sbom-scanner image") {
		t.Errorf("a missing scanner: exit %d, want an error naming it and the flag:\n%s", r.code, tail(r.stderr, 8))
	}
	if ls := mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "ls"); strings.Contains(ls, "noscan") {
		t.Errorf("a build whose scanner is missing left an entry:\n%s", ls)
	}

	// Without --sbom-scanner (or with linuxkit's "false") there is no attestation.
	e.pkg("pkg/plain", "image: plain\narches: [amd64]\n", "FROM busybox:fixture\nRUN echo hello > /etc/hello\n")
	e.mustBuild(env, "--sbom-scanner", "false", "pkg/plain")
	if _, sboms := e.indexAttestations(e.tag("pkg/plain")); len(sboms) != 0 {
		t.Errorf("--sbom-scanner false attached SBOMs: %v", sboms)
	}
}

// indexAttestations reads the index tag names in the cache with go-containerregistry: the image of each
// architecture, and for each image digest the name its SPDX attestation's predicate carries.
func (e *buildEnv) indexAttestations(tag string) (images, sboms map[string]string) {
	e.t.Helper()
	lp, err := layout.FromPath(e.cache)
	if err != nil {
		e.t.Fatal(err)
	}
	root, err := lp.ImageIndex()
	if err != nil {
		e.t.Fatal(err)
	}
	rootManifest, err := root.IndexManifest()
	if err != nil {
		e.t.Fatal(err)
	}
	images, sboms = map[string]string{}, map[string]string{}
	for _, d := range rootManifest.Manifests {
		if d.Annotations["org.opencontainers.image.ref.name"] != tag {
			continue
		}
		idx, err := root.ImageIndex(d.Digest)
		if err != nil {
			e.t.Fatalf("%s: %v", tag, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			e.t.Fatal(err)
		}
		for _, child := range im.Manifests {
			if child.Annotations["vnd.docker.reference.type"] != "attestation-manifest" {
				images[child.Platform.Architecture] = child.Digest.String()
				continue
			}
			img, err := idx.Image(child.Digest)
			if err != nil {
				e.t.Fatal(err)
			}
			layers, err := img.Layers()
			if err != nil {
				e.t.Fatal(err)
			}
			for _, l := range layers {
				mt, _ := l.MediaType()
				if mt != types.MediaType("application/vnd.in-toto+json") {
					continue
				}
				rc, err := l.Uncompressed()
				if err != nil {
					e.t.Fatal(err)
				}
				var stmt struct {
					PredicateType string `json:"predicateType"`
					Predicate     struct {
						Name string `json:"name"`
					} `json:"predicate"`
				}
				err = json.NewDecoder(rc).Decode(&stmt)
				rc.Close()
				if err != nil {
					e.t.Fatal(err)
				}
				if strings.HasPrefix(stmt.PredicateType, "https://spdx.dev/") {
					sboms[child.Annotations["vnd.docker.reference.digest"]] = stmt.Predicate.Name
				}
			}
		}
	}
	return images, sboms
}

// With no --sbom-scanner, linuxkit's default scanner (docker/buildkit-syft-scanner:stable-1) is used when it can
// be had, here through a --mirror for docker.io; when it cannot (no mirror: Docker Hub is out of reach), or with
// --offline, the build goes on without an SBOM and says so in one line.
func TestBuildDefaultSBOMScanner(t *testing.T) {
	host := authRegistry(t)
	creds := []string{"--registry-creds", host + "=" + regUser + ":" + regPass}
	e := newBuildEnv(t)
	e.pkg("pkg/scanner", "image: scanner\narches: ["+runtime.GOARCH+"]\n",
		"FROM busybox:fixture\nCOPY --chmod=755 scan /scan\nCMD [\"/scan\"]\n", "scan", sbomScanner)
	e.mustBuild(nil, "--offline", "pkg/scanner")
	publishAs(t, e, e.tag("pkg/scanner"), host+"/docker/buildkit-syft-scanner:stable-1")

	e.pkg("pkg/app", "image: app\narches: [amd64]\n", "FROM busybox:fixture\nRUN echo \"hello from $(uname -m)\" > /etc/hello\n")
	r := e.mustBuild(nil, append(creds, "--mirror", "docker.io=http://"+host, "pkg/app")...)
	images, sboms := e.indexAttestations(e.tag("pkg/app"))
	if got := sboms[images["amd64"]]; got != "hello from x86_64" {
		t.Fatalf("the default scanner through the mirror: SBOM %q (all %v)\n%s", got, sboms, tail(r.stderr, 10))
	}

	for _, args := range [][]string{{}, {"--offline"}} {
		e.repo.Write("pkg/app/more", strings.Join(args, ""))
		e.repo.Commit()
		r := e.mustBuild(nil, append(args, "pkg/app")...)
		if n := strings.Count(r.stderr, "No SBOM:"); n != 1 {
			t.Errorf("%v: want one line saying there is no SBOM, got %d:\n%s", args, n, tail(r.stderr, 10))
		}
		if _, sboms := e.indexAttestations(e.tag("pkg/app")); len(sboms) != 0 {
			t.Errorf("%v: SBOMs attached without a scanner: %v", args, sboms)
		}
	}

	// Once the linuxkit cache holds the default scanner, it comes from there: offline, with no registry asked.
	scannerTar := filepath.Join(t.TempDir(), "scanner.tar")
	mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "export", "--platform", "linux/"+runtime.GOARCH,
		"--name", "docker/buildkit-syft-scanner:stable-1", "--outfile", scannerTar, e.tag("pkg/scanner"))
	mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "import", scannerTar)
	e.repo.Write("pkg/app/more", "from the cache")
	e.repo.Commit()
	r = e.mustBuild(nil, "--offline", "pkg/app")
	images, sboms = e.indexAttestations(e.tag("pkg/app"))
	if got := sboms[images["amd64"]]; got != "hello from x86_64" || strings.Contains(r.stderr, "No SBOM") {
		t.Errorf("the default scanner from the linuxkit cache, offline: SBOM %q (all %v)\n%s", got, sboms, tail(r.stderr, 10))
	}
}
