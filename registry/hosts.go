package registry

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	buildkitdconfig "github.com/moby/buildkit/cmd/buildkitd/config"
	resolverconfig "github.com/moby/buildkit/util/resolver/config"
	"github.com/pelletier/go-toml/v2"

	"github.com/lkpkg/lkpkg/rootless"
)

// HostsOptions say where registry transport settings come from.
type HostsOptions struct {
	Insecure       []string // hosts (host[:port]) that may be plain HTTP or have unverifiable certificates
	RegistriesConf string   // containers registries.conf; "" looks in the usual places
	BuilderConfig  string   // a buildkitd.toml (linuxkit's --builder-config): its [registry."host"] sections apply
	CertFiles      []string // extra CA certificates (--cert-file), trusted for the hosts in CAHosts
	CAHosts        []string // registries the build will contact (those of its FROM images)
	Mirrors        []string // --mirror / LINUXKIT_MIRROR entries (ParseMirrors), for those registries and Docker Hub
}

// Hosts returns BuildKit's per-host registry configuration, merged in order: registries.conf, the buildkitd.toml,
// the --insecure-registry list; CertFiles are added to the CAs of every host in CAHosts, and the mirrors of those
// hosts and Docker Hub are added to theirs.
func Hosts(o HostsOptions) (map[string]resolverconfig.RegistryConfig, error) {
	hosts := map[string]resolverconfig.RegistryConfig{}
	insecure, err := registriesConfInsecure(o.RegistriesConf)
	if err != nil {
		return nil, err
	}
	for _, h := range append(insecure, o.Insecure...) {
		hosts[h] = markInsecure(hosts[h])
	}
	if o.BuilderConfig != "" {
		if _, err := os.Stat(o.BuilderConfig); err != nil {
			return nil, fmt.Errorf("--builder-config: %w", err)
		}
		cfg, err := buildkitdconfig.LoadFile(o.BuilderConfig)
		if err != nil {
			return nil, fmt.Errorf("--builder-config %s: %w", o.BuilderConfig, err)
		}
		for h, rc := range cfg.Registries {
			hosts[h] = rc
		}
	}
	for _, f := range o.CertFiles {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("--cert-file %s: %w", f, err)
		}
	}
	mirrors, plainHTTP, err := ParseMirrors(o.Mirrors)
	if err != nil {
		return nil, err
	}
	mirrors.applyTo(hosts, o.CAHosts, plainHTTP)
	if len(o.CertFiles) > 0 {
		for _, h := range o.CAHosts {
			rc := hosts[h]
			rc.RootCAs = append(rc.RootCAs, o.CertFiles...)
			hosts[h] = rc
		}
	}
	return hosts, nil
}

// markInsecure allows plain HTTP and unverified TLS, as registries.conf's insecure = true does for podman.
func markInsecure(rc resolverconfig.RegistryConfig) resolverconfig.RegistryConfig {
	yes := true
	rc.Insecure, rc.PlainHTTP = &yes, &yes
	return rc
}

// registriesConf is the part of containers-registries.conf(5) lkpkg reads: v2 [[registry]] tables and the v1
// [registries.insecure] list.
type registriesConf struct {
	Registry []struct {
		Prefix   string `toml:"prefix"`
		Location string `toml:"location"`
		Insecure bool   `toml:"insecure"`
	} `toml:"registry"`
	Registries struct {
		Insecure struct {
			Registries []string `toml:"registries"`
		} `toml:"insecure"`
	} `toml:"registries"`
}

func registriesConfInsecure(path string) ([]string, error) {
	if path == "" {
		path = defaultRegistriesConf()
		if path == "" {
			return nil, nil
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("registries.conf: %w", err)
	}
	var rc registriesConf
	if err := toml.Unmarshal(data, &rc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	hosts := append([]string(nil), rc.Registries.Insecure.Registries...)
	for _, r := range rc.Registry {
		if !r.Insecure {
			continue
		}
		if r.Location != "" {
			hosts = append(hosts, r.Location)
		} else if r.Prefix != "" {
			hosts = append(hosts, r.Prefix)
		}
	}
	sort.Strings(hosts)
	return hosts, nil
}

// defaultRegistriesConf is the file podman would read: $CONTAINERS_REGISTRIES_CONF, the user's, then the system's.
func defaultRegistriesConf() string {
	candidates := []string{os.Getenv("CONTAINERS_REGISTRIES_CONF")}
	if home, err := os.UserHomeDir(); err == nil && (os.Geteuid() != 0 || rootless.ForUser()) {
		candidates = append(candidates, filepath.Join(home, ".config", "containers", "registries.conf"))
	}
	candidates = append(candidates, "/etc/containers/registries.conf")
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if _, err := os.Stat(c); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return c
		}
	}
	return ""
}
