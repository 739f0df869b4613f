package registry

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	resolverconfig "github.com/moby/buildkit/util/resolver/config"
)

// anyRegistry keys the mirrors that apply to every registry (a --mirror entry without "<registry>=").
const anyRegistry = "*"

// Mirrors maps a registry host (or anyRegistry) to the mirrors to read its images from, in order: "host[:port]"
// with an optional path prefix. Reads (FROM images, cache pull, --pull, --precache-images) try them before the
// registry itself; pushes never go to a mirror.
type Mirrors map[string][]string

// ParseMirrors reads linuxkit's --mirror / LINUXKIT_MIRROR entries, "[<registry>=]http(s)://host[:port][/path]",
// several to an argument when separated by spaces or commas. docker.io also names Docker Hub's other host names.
// It returns the mirror hosts that are plain HTTP, which must be reached as such.
func ParseMirrors(entries []string) (Mirrors, []string, error) {
	mirrors := Mirrors{}
	var plainHTTP []string
	for _, arg := range entries {
		for _, entry := range strings.FieldsFunc(arg, func(r rune) bool { return r == ' ' || r == ',' }) {
			registry, rawURL, found := strings.Cut(entry, "=")
			if !found {
				registry, rawURL = anyRegistry, entry
			}
			u, err := url.Parse(rawURL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || registry == "" {
				return nil, nil, fmt.Errorf("--mirror %q: want [<registry>=]http(s)://<host>[:port][/path], e.g. docker.io=https://mirror.example.com", entry)
			}
			mirror := u.Host + strings.TrimSuffix(u.Path, "/")
			if u.Scheme == "http" {
				plainHTTP = append(plainHTTP, u.Host)
			}
			for _, r := range expandDockerHub(registry) {
				mirrors[r] = append(mirrors[r], mirror)
			}
		}
	}
	return mirrors, plainHTTP, nil
}

func expandDockerHub(registry string) []string {
	if registry == "docker.io" || registry == name.DefaultRegistry || registry == "registry-1.docker.io" {
		return []string{"docker.io", "index.docker.io", "registry-1.docker.io"}
	}
	return []string{registry}
}

// For lists the mirrors of host: its own, then those for every registry.
func (m Mirrors) For(host string) []string {
	return append(append([]string(nil), m[host]...), m[anyRegistry]...)
}

// applyTo gives BuildKit's resolver the mirrors of each registry the build contacts (contacted: FROM images'
// registries; Docker Hub always), and marks plain-HTTP mirrors so.
func (m Mirrors) applyTo(hosts map[string]resolverconfig.RegistryConfig, contacted, plainHTTP []string) {
	for _, h := range plainHTTP {
		hosts[h] = markPlainHTTP(hosts[h])
	}
	seen := map[string]bool{}
	for _, h := range append([]string{"docker.io"}, contacted...) {
		if seen[h] {
			continue
		}
		seen[h] = true
		if mirrors := m.For(h); len(mirrors) > 0 {
			rc := hosts[h]
			rc.Mirrors = append(rc.Mirrors, mirrors...)
			hosts[h] = rc
		}
	}
}

func markPlainHTTP(rc resolverconfig.RegistryConfig) resolverconfig.RegistryConfig {
	yes := true
	rc.PlainHTTP = &yes
	return rc
}

// mirrored is ref as read from mirror ("host[:port][/path]"): the same repository and tag or digest there.
func mirrored(ref name.Reference, mirror string) (name.Reference, error) {
	repo := mirror + "/" + ref.Context().RepositoryStr()
	switch r := ref.(type) {
	case name.Digest:
		return name.NewDigest(repo + "@" + r.DigestStr())
	case name.Tag:
		return name.NewTag(repo + ":" + r.TagStr())
	}
	return nil, fmt.Errorf("%s: neither a tag nor a digest", ref)
}
