package registry

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHosts(t *testing.T) {
	conf := writeFile(t, "registries.conf", `
[registries.insecure]
registries = ["old.example:5000"]

[[registry]]
location = "new.example"
insecure = true

[[registry]]
location = "secure.example"
`)
	toml := writeFile(t, "buildkitd.toml", "[registry.\"bk.example:5000\"]\n  http = true\n")
	ca := writeFile(t, "ca.pem", "not parsed here")
	hosts, err := Hosts(HostsOptions{RegistriesConf: conf, BuilderConfig: toml, Insecure: []string{"flag.example"},
		CertFiles: []string{ca}, CAHosts: []string{"secure.example"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"old.example:5000", "new.example", "flag.example"} {
		rc := hosts[h]
		if rc.Insecure == nil || !*rc.Insecure || rc.PlainHTTP == nil || !*rc.PlainHTTP {
			t.Errorf("%s should be insecure (HTTP or unverified TLS): %+v", h, rc)
		}
	}
	if rc := hosts["bk.example:5000"]; rc.PlainHTTP == nil || !*rc.PlainHTTP {
		t.Errorf("buildkitd.toml http = true not applied: %+v", rc)
	}
	if rc := hosts["secure.example"]; len(rc.RootCAs) != 1 || rc.RootCAs[0] != ca || rc.Insecure != nil {
		t.Errorf("secure.example: %+v", rc)
	}
	for _, bad := range []HostsOptions{
		{RegistriesConf: writeFile(t, "bad.conf", "[[registry]\n")},
		{RegistriesConf: "/nonexistent/registries.conf"},
		{BuilderConfig: "/nonexistent/buildkitd.toml"},
		{CertFiles: []string{"/nonexistent/ca.pem"}},
	} {
		if _, err := Hosts(bad); err == nil {
			t.Errorf("%+v: expected an error", bad)
		}
	}
}

func TestLoadCredentials(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_RUNTIME_DIR", "")
	dockerDir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dockerDir)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	if err := os.WriteFile(filepath.Join(dockerDir, "config.json"),
		[]byte(`{"auths":{"https://index.docker.io/v1/":{"auth":"`+b64("hub:hubpw")+`"},"both.example":{"auth":"`+b64("docker:d")+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("REGISTRY_AUTH_FILE", writeFile(t, "auth.json", `{"auths":{"both.example":{"auth":"`+b64("podman:p")+`"}}}`))
	c, err := LoadCredentials([]string{"flag.example=u:p:with:colons", "tok.example=" + b64("t:tp")})
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]string{
		"flag.example":         "u/p:with:colons",
		"tok.example":          "t/tp",
		"both.example":         "podman/p", // REGISTRY_AUTH_FILE is explicit, so it beats the docker config
		"registry-1.docker.io": "hub/hubpw",
		"docker.io":            "hub/hubpw",
		"anonymous.example":    "/",
	} {
		ac, err := c.Lookup(host)
		if err != nil {
			t.Fatal(err)
		}
		if got := ac.Username + "/" + ac.Password; got != want {
			t.Errorf("%s: got %s, want %s", host, got, want)
		}
	}
	for _, bad := range []string{"nohost", "=u:p", "h=", "h=!!notbase64", "h=" + b64("nocolon")} {
		if _, err := LoadCredentials([]string{bad}); err == nil || !strings.Contains(err.Error(), "--registry-creds") {
			t.Errorf("%q: got %v", bad, err)
		} else if strings.Contains(err.Error(), "nocolon") {
			t.Errorf("%q: the error leaks the secret: %v", bad, err)
		}
	}
	t.Setenv("REGISTRY_AUTH_FILE", writeFile(t, "broken.json", "{"))
	if _, err := LoadCredentials(nil); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Errorf("broken auth file: %v", err)
	}
}

// A malformed docker config.json is an error naming it, not silently no login.
func TestLoadCredentialsMalformedDockerConfig(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("REGISTRY_AUTH_FILE", "")
	dockerDir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dockerDir)
	file := filepath.Join(dockerDir, "config.json")
	if err := os.WriteFile(file, []byte(`{"auths": {`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadCredentials(nil)
	if err == nil || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), "fix or move the file") {
		t.Fatalf("got %v, want an error naming %s", err, file)
	}
}
