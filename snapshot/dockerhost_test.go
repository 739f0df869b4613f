package snapshot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	dockercontext "github.com/docker/cli/cli/context"
	"github.com/docker/cli/cli/context/store"
)

// writeDockerContext stores a docker context with the docker CLI's own store, as `docker context create` does.
func writeDockerContext(t *testing.T, configDir, name, host string, skipTLSVerify bool) {
	t.Helper()
	s := store.New(filepath.Join(configDir, "contexts"), store.NewConfig(
		func() any { return &map[string]any{} },
		store.EndpointTypeGetter(dockerEndpointName, func() any { return &dockercontext.EndpointMetaBase{} }),
	))
	err := s.CreateOrUpdate(store.Metadata{Name: name, Metadata: map[string]any{},
		Endpoints: map[string]any{dockerEndpointName: dockercontext.EndpointMetaBase{Host: host, SkipTLSVerify: skipTLSVerify}}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestResolveDockerEndpoint(t *testing.T) {
	configDir := t.TempDir()
	writeDockerContext(t, configDir, "ctx-a", "unix:///run/a.sock", false)
	writeDockerContext(t, configDir, "ctx-b", "tcp://127.0.0.1:2376", true)
	currentIs := func(name string) {
		if err := os.WriteFile(filepath.Join(configDir, "config.json"), []byte(`{"currentContext": "`+name+`"}`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	certDir := t.TempDir()
	for _, tc := range []struct {
		name      string
		current   string
		env       map[string]string
		host, ctx string
		tls       bool
		err       string
	}{
		{name: "nothing set", host: defaultDockerHost, ctx: "default"},
		{name: "DOCKER_HOST", env: map[string]string{"DOCKER_HOST": "tcp://127.0.0.1:2375"}, host: "tcp://127.0.0.1:2375", ctx: "default"},
		{name: "DOCKER_HOST wins over DOCKER_CONTEXT and the current context", current: "ctx-a",
			env: map[string]string{"DOCKER_HOST": "unix:///x.sock", "DOCKER_CONTEXT": "ctx-a"}, host: "unix:///x.sock", ctx: "default"},
		{name: "DOCKER_TLS_VERIFY", env: map[string]string{"DOCKER_HOST": "tcp://127.0.0.1:2376", "DOCKER_TLS_VERIFY": "1",
			"DOCKER_CERT_PATH": certDir}, host: "tcp://127.0.0.1:2376", ctx: "default", tls: true},
		{name: "DOCKER_CONTEXT", env: map[string]string{"DOCKER_CONTEXT": "ctx-a"}, host: "unix:///run/a.sock", ctx: "ctx-a"},
		{name: "DOCKER_CONTEXT wins over the current context", current: "ctx-b", env: map[string]string{"DOCKER_CONTEXT": "ctx-a"},
			host: "unix:///run/a.sock", ctx: "ctx-a"},
		{name: "current context", current: "ctx-a", host: "unix:///run/a.sock", ctx: "ctx-a"},
		{name: "current context with TLS", current: "ctx-b", host: "tcp://127.0.0.1:2376", ctx: "ctx-b", tls: true},
		{name: "DOCKER_CONTEXT=default", current: "ctx-a", env: map[string]string{"DOCKER_CONTEXT": "default"}, host: defaultDockerHost, ctx: "default"},
		{name: "unknown context", env: map[string]string{"DOCKER_CONTEXT": "nope"}, err: `docker context "nope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			currentIs(tc.current)
			ep, err := resolveDockerEndpoint(configDir, func(k string) string { return tc.env[k] })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ep.Host != tc.host || ep.Context != tc.ctx || (ep.TLS != nil) != tc.tls {
				t.Errorf("got host %s context %s TLS %v; want %s %s %v", ep.Host, ep.Context, ep.TLS != nil, tc.host, tc.ctx, tc.tls)
			}
		})
	}
}
