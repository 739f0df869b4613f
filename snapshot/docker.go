package snapshot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// DockerDaemon is a Docker Engine API endpoint that images can be loaded into.
type DockerDaemon struct {
	Host   string // unix:///path or tcp://host:port, as DOCKER_HOST
	client *http.Client
	base   string
}

// ConnectDockerCLI connects to the daemon the docker CLI would reach (ResolveDockerEndpoint: DOCKER_HOST, else the
// docker context).
func ConnectDockerCLI(ctx context.Context) (*DockerDaemon, error) {
	ep, err := ResolveDockerEndpoint()
	if err != nil {
		return nil, err
	}
	return ConnectDocker(ctx, ep)
}

// ConnectDocker checks that a daemon answers at ep (see ResolveDockerEndpoint), so a build that is to be loaded
// into Docker fails before it starts rather than after.
func ConnectDocker(ctx context.Context, ep DockerEndpoint) (*DockerDaemon, error) {
	host := ep.Host
	d := &DockerDaemon{Host: host}
	u, err := url.Parse(host)
	if err != nil {
		return nil, fmt.Errorf("docker host %q (docker context %s): %w", host, ep.Context, err)
	}
	switch u.Scheme {
	case "unix":
		sock := u.Path
		d.client = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", sock)
		}}}
		d.base = "http://docker"
	case "tcp", "http", "https":
		d.client, d.base = &http.Client{}, "http://"+u.Host
		if ep.TLS != nil || u.Scheme == "https" {
			d.client.Transport = &http.Transport{TLSClientConfig: ep.TLS}
			d.base = "https://" + u.Host
		}
	default:
		return nil, fmt.Errorf("docker host %q (docker context %s): lkpkg talks to unix:// and tcp:// endpoints", host, ep.Context)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(pingCtx, http.MethodGet, d.base+"/_ping", nil)
	resp, err := d.client.Do(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return d, nil
		}
		err = fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil, fmt.Errorf("--docker: no Docker daemon answers at %s (docker context %s: %v); lkpkg itself needs none: "+
		"`lkpkg cache export --format docker --outfile image.tar <tag>` writes a tar that `docker load` accepts", host, ep.Context, err)
}

// DockerImage is one cache entry to load, with the names it gets in Docker.
type DockerImage struct {
	CacheName string
	Platform  ocispec.Platform
	Tags      []string
}

// Load sends the images to the daemon as one `docker load` archive.
func (d *DockerDaemon) Load(ctx context.Context, c *Cache, images []DockerImage) error {
	var archive []ArchiveImage
	for _, img := range images {
		root, err := c.FindRoot(img.CacheName)
		if err != nil {
			return err
		}
		for _, tag := range img.Tags {
			archive = append(archive, ArchiveImage{Ref: tag, Digest: root.Digest, Platform: img.Platform})
		}
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(c.WriteDockerArchive(pw, archive)) }()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.base+"/images/load?quiet=1", pr)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-tar")
	resp, err := d.client.Do(req)
	if err != nil {
		pr.CloseWithError(err)
		return fmt.Errorf("docker load via %s: %w", d.Host, err)
	}
	defer resp.Body.Close()
	return loadResponseError(resp)
}

// loadResponseError reads the daemon's JSON message stream and returns the error it reports, if any.
func loadResponseError(resp *http.Response) error {
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("docker load: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	dec := json.NewDecoder(resp.Body)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("docker load: reading the daemon's answer: %w", err)
		}
		if msg.Error != "" {
			return fmt.Errorf("docker load: %s", msg.Error)
		}
	}
}
