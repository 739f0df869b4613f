package snapshot

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"

	"github.com/docker/cli/cli/config"
	dockercontext "github.com/docker/cli/cli/context"
	"github.com/docker/cli/cli/context/store"
	"github.com/docker/go-connections/tlsconfig"
)

// dockerEndpointName is the endpoint of a docker context that describes the Engine API.
const dockerEndpointName = "docker"

// defaultDockerHost is where the docker CLI looks when nothing else says.
const defaultDockerHost = "unix:///var/run/docker.sock"

// DockerEndpoint is a Docker daemon as the docker CLI would reach it.
type DockerEndpoint struct {
	Host    string      // unix:///path or tcp://host:port
	TLS     *tls.Config // nil: no TLS
	Context string      // the docker context it comes from; "default" is DOCKER_HOST or the default socket
}

// ResolveDockerEndpoint finds the daemon the docker CLI talks to, in the docker CLI's order: DOCKER_HOST (with
// DOCKER_TLS_VERIFY, DOCKER_TLS and DOCKER_CERT_PATH), else the context DOCKER_CONTEXT names, else the current
// context of ~/.docker/config.json ($DOCKER_CONFIG), else the default socket. Contexts are read with the docker
// CLI's own context store.
func ResolveDockerEndpoint() (DockerEndpoint, error) {
	return resolveDockerEndpoint(config.Dir(), os.Getenv)
}

// resolveDockerEndpoint is ResolveDockerEndpoint with the docker config directory and the environment given
// (the docker CLI's config package reads $DOCKER_CONFIG once per process).
func resolveDockerEndpoint(configDir string, getenv func(string) string) (DockerEndpoint, error) {
	if getenv("DOCKER_HOST") != "" {
		return defaultDockerEndpoint(configDir, getenv)
	}
	name := getenv("DOCKER_CONTEXT")
	if name == "" {
		cfg, err := config.Load(configDir)
		if err != nil {
			return DockerEndpoint{}, fmt.Errorf("--docker: reading the docker CLI's config in %s: %w", configDir, err)
		}
		name = cfg.CurrentContext
	}
	if name == "" || name == "default" {
		return defaultDockerEndpoint(configDir, getenv)
	}
	return contextDockerEndpoint(configDir, name)
}

// defaultDockerEndpoint is docker's "default" context: DOCKER_HOST or the default socket, with TLS when
// DOCKER_TLS_VERIFY or DOCKER_TLS is set, from ca.pem, cert.pem and key.pem in DOCKER_CERT_PATH (default: the
// docker config directory), each used when present.
func defaultDockerEndpoint(configDir string, getenv func(string) string) (DockerEndpoint, error) {
	ep := DockerEndpoint{Host: getenv("DOCKER_HOST"), Context: "default"}
	if ep.Host == "" {
		ep.Host = defaultDockerHost
	}
	verify := getenv("DOCKER_TLS_VERIFY") != ""
	if !verify && getenv("DOCKER_TLS") == "" {
		return ep, nil
	}
	certDir := getenv("DOCKER_CERT_PATH")
	if certDir == "" {
		certDir = configDir
	}
	opts := tlsconfig.Options{InsecureSkipVerify: !verify}
	for _, f := range []struct {
		name string
		to   *string
	}{{"ca.pem", &opts.CAFile}, {"cert.pem", &opts.CertFile}, {"key.pem", &opts.KeyFile}} {
		p := filepath.Join(certDir, f.name)
		if _, err := os.Stat(p); err == nil {
			*f.to = p
		}
	}
	var err error
	if ep.TLS, err = tlsconfig.Client(opts); err != nil {
		return DockerEndpoint{}, fmt.Errorf("--docker: TLS for DOCKER_HOST %s from DOCKER_CERT_PATH %s: %w", ep.Host, certDir, err)
	}
	return ep, nil
}

// contextDockerEndpoint reads the docker endpoint of the docker context name, and its TLS material, from the
// docker CLI's context store (~/.docker/contexts, config.ContextStoreDir for the process's own config directory).
func contextDockerEndpoint(configDir, name string) (DockerEndpoint, error) {
	s := store.New(filepath.Join(configDir, "contexts"), store.NewConfig(
		func() any { return &map[string]any{} },
		store.EndpointTypeGetter(dockerEndpointName, func() any { return &dockercontext.EndpointMetaBase{} }),
	))
	meta, err := s.GetMetadata(name)
	if err != nil {
		return DockerEndpoint{}, fmt.Errorf("--docker: docker context %q (DOCKER_CONTEXT or currentContext in %s): %w; "+
			"`docker context ls` lists the contexts", name, filepath.Join(configDir, config.ConfigFileName), err)
	}
	em, ok := meta.Endpoints[dockerEndpointName].(dockercontext.EndpointMetaBase) // the store dereferences the getter's pointer
	if !ok || em.Host == "" {
		return DockerEndpoint{}, fmt.Errorf("--docker: docker context %q has no docker endpoint host", name)
	}
	ep := DockerEndpoint{Host: em.Host, Context: name}
	data, err := dockercontext.LoadTLSData(s, name, dockerEndpointName)
	if err != nil {
		return DockerEndpoint{}, fmt.Errorf("--docker: TLS material of docker context %q: %w", name, err)
	}
	if data == nil && !em.SkipTLSVerify {
		return ep, nil
	}
	ep.TLS = tlsconfig.ClientDefault()
	ep.TLS.InsecureSkipVerify = em.SkipTLSVerify
	if data != nil && data.CA != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(data.CA) {
			return DockerEndpoint{}, fmt.Errorf("--docker: docker context %q: its ca.pem holds no certificate", name)
		}
		ep.TLS.RootCAs = pool
	}
	if data != nil && data.Cert != nil && data.Key != nil {
		cert, err := tls.X509KeyPair(data.Cert, data.Key)
		if err != nil {
			return DockerEndpoint{}, fmt.Errorf("--docker: docker context %q: its client certificate: %w", name, err)
		}
		ep.TLS.Certificates = []tls.Certificate{cert}
	}
	return ep, nil
}
