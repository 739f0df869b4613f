package registry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	dockerconfig "github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/credentials"
	"github.com/docker/cli/cli/config/types"
	"github.com/moby/buildkit/session/auth/authprovider"
)

// Credentials are the registry logins lkpkg uses, looked up per host in this order: --registry-creds, the
// containers auth file named by REGISTRY_AUTH_FILE, the docker config ($DOCKER_CONFIG or ~/.docker/config.json,
// with its credsStore and credHelpers), then podman's default auth.json. Secrets never appear in messages.
type Credentials struct {
	explicit map[string]types.AuthConfig // from flags and REGISTRY_AUTH_FILE
	fallback map[string]types.AuthConfig // podman's default auth.json
	docker   *configfile.ConfigFile
	// Sources says where credentials were looked for, for error messages.
	Sources []string
}

// LoadCredentials reads every credential source; registryCreds are --registry-creds values
// (<registry>=<user>:<password> or <registry>=<base64 of user:password>).
func LoadCredentials(registryCreds []string) (*Credentials, error) {
	c := &Credentials{explicit: map[string]types.AuthConfig{}, fallback: map[string]types.AuthConfig{}}
	for _, rc := range registryCreds {
		host, ac, err := parseRegistryCred(rc)
		if err != nil {
			return nil, err
		}
		c.explicit[host] = ac
	}
	if len(registryCreds) > 0 {
		c.Sources = append(c.Sources, "--registry-creds")
	}
	if f := os.Getenv("REGISTRY_AUTH_FILE"); f != "" {
		if err := readAuthFile(f, c.explicit, true); err != nil {
			return nil, err
		}
		c.Sources = append(c.Sources, f+" (REGISTRY_AUTH_FILE)")
	}
	docker, err := loadDockerConfig()
	if err != nil {
		return nil, err
	}
	c.docker = docker
	c.Sources = append(c.Sources, c.docker.Filename)
	for _, f := range defaultAuthFiles() {
		if err := readAuthFile(f, c.fallback, false); err != nil {
			return nil, err
		}
		c.Sources = append(c.Sources, f)
	}
	return c, nil
}

// Lookup returns the login for a registry host; empty when there is none (anonymous access).
func (c *Credentials) Lookup(host string) (types.AuthConfig, error) {
	key := normalizeHost(host)
	if ac, ok := c.explicit[key]; ok {
		return ac, nil
	}
	dockerKey := key
	if key == "docker.io" {
		dockerKey = "https://index.docker.io/v1/"
	}
	ac, err := c.docker.GetAuthConfig(dockerKey)
	if err != nil {
		return types.AuthConfig{}, fmt.Errorf("credentials for %s from %s: %w", host, c.docker.Filename, err)
	}
	if ac.Username != "" || ac.IdentityToken != "" || ac.RegistryToken != "" {
		return ac, nil
	}
	return c.fallback[key], nil
}

// BuildKitProvider adapts Lookup to what BuildKit's session auth provider asks.
func (c *Credentials) BuildKitProvider() authprovider.AuthConfigProvider {
	return func(_ context.Context, host string, _ []string, _ authprovider.ExpireCachedAuthCheck) (types.AuthConfig, error) {
		return c.Lookup(host)
	}
}

// normalizeHost maps Docker Hub's many names to one and strips a scheme and path.
func normalizeHost(h string) string {
	h = strings.TrimPrefix(strings.TrimPrefix(h, "https://"), "http://")
	h, _, _ = strings.Cut(h, "/")
	switch h {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		return "docker.io"
	}
	return h
}

func parseRegistryCred(s string) (string, types.AuthConfig, error) {
	host, secret, ok := strings.Cut(s, "=")
	if !ok || host == "" || secret == "" {
		return "", types.AuthConfig{}, errors.New("--registry-creds: want <registry>=<user>:<password> or <registry>=<base64 token>")
	}
	user, pass, ok := strings.Cut(secret, ":")
	if !ok {
		decoded, err := base64.StdEncoding.DecodeString(secret)
		if err != nil {
			return "", types.AuthConfig{}, fmt.Errorf("--registry-creds for %s: neither user:password nor base64 of it", host)
		}
		if user, pass, ok = strings.Cut(string(decoded), ":"); !ok {
			return "", types.AuthConfig{}, fmt.Errorf("--registry-creds for %s: the base64 token does not decode to user:password", host)
		}
	}
	return normalizeHost(host), types.AuthConfig{Username: user, Password: pass, ServerAddress: host}, nil
}

// authFile is the JSON of containers-auth.json(5), which is also docker's "auths" section.
type authFile struct {
	Auths map[string]struct {
		Auth string `json:"auth"`
	} `json:"auths"`
}

func readAuthFile(path string, into map[string]types.AuthConfig, required bool) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !required {
		return nil
	}
	if err != nil {
		return fmt.Errorf("auth file: %w", err)
	}
	var af authFile
	if err := json.Unmarshal(data, &af); err != nil {
		return fmt.Errorf("auth file %s is not valid JSON: %w", path, err)
	}
	for host, entry := range af.Auths {
		decoded, err := base64.StdEncoding.DecodeString(entry.Auth)
		user, pass, ok := strings.Cut(string(decoded), ":")
		if err != nil || !ok {
			return fmt.Errorf("auth file %s: the entry for %s is not base64 of user:password", path, host)
		}
		key := normalizeHost(host)
		if _, seen := into[key]; !seen {
			into[key] = types.AuthConfig{Username: user, Password: pass, ServerAddress: host}
		}
	}
	return nil
}

// defaultAuthFiles are podman's auth.json locations that exist.
func defaultAuthFiles() []string {
	var out []string
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		out = append(out, filepath.Join(d, "containers", "auth.json"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		out = append(out, filepath.Join(home, ".config", "containers", "auth.json"))
	}
	var existing []string
	for _, f := range out {
		if _, err := os.Stat(f); err == nil {
			existing = append(existing, f)
		}
	}
	return existing
}

// loadDockerConfig reads docker's config.json from $DOCKER_CONFIG, else ~/.docker, as docker does; unlike docker's
// own default loader it finds the directory anew at each call (that one is fixed for the process) and reports a
// malformed file instead of ignoring it, so a broken login is not mistaken for no login. As docker does, a file with
// no auths falls back to the platform's credential store, if one is installed.
func loadDockerConfig() (*configfile.ConfigFile, error) {
	dir := os.Getenv("DOCKER_CONFIG")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("docker config: %w (set HOME or DOCKER_CONFIG)", err)
		}
		dir = filepath.Join(home, ".docker")
	}
	cf, err := dockerconfig.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("docker config: %w; fix or move the file (it is read for registry credentials)", err)
	}
	if !cf.ContainsAuth() {
		cf.CredentialsStore = credentials.DetectDefaultStore(cf.CredentialsStore)
	}
	return cf, nil
}
