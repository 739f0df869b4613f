package executor

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/connhelper"
	"github.com/moby/buildkit/util/grpcerrors"
	"google.golang.org/grpc/codes"

	// BuildKit's connection helpers for builder addresses, registered by scheme.
	_ "github.com/moby/buildkit/client/connhelper/dockercontainer"
	_ "github.com/moby/buildkit/client/connhelper/kubepod"
	_ "github.com/moby/buildkit/client/connhelper/podmancontainer"
	_ "github.com/moby/buildkit/client/connhelper/ssh"
)

// Remote is a BuildKit daemon (buildkitd, or another lkpkg's engine) reached with the stock client. Solves on it
// get the same SolveOpt as in-process ones: local dirs, the OCI stores and the export travel through the session,
// so nothing needs to be on the builder beforehand and the result streams back.
type Remote struct {
	// Address is the builder as given, without TLS file options; it names the builder in messages.
	Address string
	client  *client.Client
	// platforms the builder's workers build, natively or emulated.
	platforms []string
}

// tlsParams are buildx's remote-driver option names, accepted as query parameters of a tcp:// address.
var tlsParams = []string{"cacert", "cert", "key", "servername"}

// builderSchemes are the address forms a builder may take: BuildKit's own transports and its connection helpers.
var builderSchemes = []string{"tcp", "unix", "ssh", "kube-pod", "docker-container", "podman-container"}

// ParseBuilderAddress checks a builder address and returns the BuildKit client address and options it means.
func ParseBuilderAddress(addr string) (string, []client.ClientOpt, error) {
	u, err := url.Parse(addr)
	if err != nil || u.Scheme == "" {
		return "", nil, fmt.Errorf("builder %q is not a BuildKit address: use tcp://host:port[?cacert=…&cert=…&key=…], unix:///path, ssh://user@host, kube-pod://<pod>?namespace=<ns>, docker-container://<name> or podman-container://<name> (linuxkit's docker context names are not BuildKit addresses: give the address of the context's buildkitd instead)", addr)
	}
	known := false
	for _, s := range builderSchemes {
		known = known || u.Scheme == s
	}
	if !known {
		return "", nil, fmt.Errorf("builder %q: unknown scheme %q: use tcp://, unix://, ssh://, kube-pod://, docker-container:// or podman-container://", addr, u.Scheme)
	}
	switch u.Scheme {
	case "tcp":
		return tcpAddress(addr, u)
	case "unix":
		if u.Path == "" || u.RawQuery != "" {
			return "", nil, fmt.Errorf("builder %q: a unix socket address is unix:///absolute/path/to/buildkitd.sock", addr)
		}
		return addr, nil, nil
	}
	// The connection helpers parse their own URLs; one that refuses this one says why.
	helper, err := connhelper.GetConnectionHelper(addr)
	if err != nil {
		return "", nil, fmt.Errorf("builder %q: %w", addr, err)
	}
	if helper == nil {
		return "", nil, fmt.Errorf("builder %q: no connection helper for %s:// in this lkpkg", addr, u.Scheme)
	}
	return addr, nil, nil
}

func tcpAddress(addr string, u *url.URL) (string, []client.ClientOpt, error) {
	if u.Host == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") {
		return "", nil, fmt.Errorf("builder %q: a TCP address is tcp://host:port", addr)
	}
	q := u.Query()
	for k := range q {
		if !containsString(tlsParams, k) {
			return "", nil, fmt.Errorf("builder %q: unknown option %q: TLS options are cacert, cert, key and servername", addr, k)
		}
	}
	for _, k := range []string{"cacert", "cert", "key"} {
		if f := q.Get(k); f != "" {
			if _, err := os.Stat(f); err != nil {
				return "", nil, fmt.Errorf("builder %q: %s file: %w", addr, k, err)
			}
		}
	}
	if (q.Get("cert") == "") != (q.Get("key") == "") {
		return "", nil, fmt.Errorf("builder %q: a client certificate needs both cert and key", addr)
	}
	var opts []client.ClientOpt
	if q.Get("cacert") != "" || q.Get("servername") != "" {
		opts = append(opts, client.WithServerConfig(q.Get("servername"), q.Get("cacert")))
	}
	if q.Get("cert") != "" {
		opts = append(opts, client.WithCredentials(q.Get("cert"), q.Get("key")))
	}
	return "tcp://" + u.Host, opts, nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// BuilderName is the address without its query: enough to tell builders apart in messages.
func BuilderName(addr string) string {
	if u, err := url.Parse(addr); err == nil && u.Scheme == "tcp" {
		u.RawQuery = ""
		return u.String()
	}
	return addr
}

// Dial connects to the builder at addr and asks which platforms it builds; a builder that cannot be reached
// (within timeout) or refuses the TLS handshake is an error naming it.
func Dial(ctx context.Context, addr string, timeout time.Duration) (*Remote, error) {
	target, opts, err := ParseBuilderAddress(addr)
	if err != nil {
		return nil, err
	}
	name := BuilderName(addr)
	c, err := client.New(ctx, target, opts...)
	if err != nil {
		return nil, fmt.Errorf("builder %s: %w", name, err)
	}
	r := &Remote{Address: name, client: c}
	if err := r.readPlatforms(ctx, timeout); err != nil {
		c.Close()
		return nil, err
	}
	return r, nil
}

func (r *Remote) readPlatforms(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	workers, err := r.client.ListWorkers(ctx)
	if err != nil {
		return fmt.Errorf("builder %s cannot be reached: %w%s", r.Address, err, dialHint(err))
	}
	for _, w := range workers {
		for _, p := range w.Platforms {
			r.platforms = append(r.platforms, platforms.Format(p))
		}
	}
	return nil
}

// dialHint says what a failed first call most likely means.
func dialHint(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "certificate") || strings.Contains(msg, "tls:") || strings.Contains(msg, "x509"):
		return "\n(the TLS handshake failed: check the cacert, cert, key and servername options of the address against the builder's certificates)"
	case grpcerrors.Code(err) == codes.Unavailable || errors.Is(err, context.DeadlineExceeded):
		return "\n(is buildkitd running and listening there?)"
	}
	return ""
}

// Platforms are the platforms the builder's workers build.
func (r *Remote) Platforms() []string { return r.platforms }

// CheckPlatform refuses a platform none of the builder's workers builds.
func (r *Remote) CheckPlatform(platform string) error {
	want, err := platforms.Parse(platform)
	if err != nil {
		return fmt.Errorf("platform %q: %w", platform, err)
	}
	match := platforms.Only(want)
	for _, p := range r.platforms {
		if have, err := platforms.Parse(p); err == nil && match.Match(have) {
			return nil
		}
	}
	return fmt.Errorf("builder %s does not build %s (its workers build %s): give that platform another builder, or register QEMU binfmt handlers on the builder's host", r.Address, platform, strings.Join(r.platforms, ", "))
}

// Solve runs one build on the builder. Network policy is the builder's own: force-network-mode for builds without
// network, the network.host entitlement (which buildkitd grants only with --allow-insecure-entitlement
// network.host) for builds with it.
func (r *Remote) Solve(ctx context.Context, req SolveRequest) (*SolveResult, error) {
	network, opt, err := req.networkAndSolveOpt()
	if err != nil {
		return nil, err
	}
	if network == NetworkHost {
		opt.FrontendAttrs["force-network-mode"] = "host"
	}
	resp, err := solveWithProgress(ctx, r.client, opt, req)
	if err != nil {
		return nil, r.solveError(err)
	}
	return newSolveResult(resp)
}

func (r *Remote) solveError(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "network.host is not allowed") || (strings.Contains(msg, "network.host") && strings.Contains(msg, "entitlement")):
		return fmt.Errorf("builder %s refuses the host network this package needs (network: true): start its buildkitd with --allow-insecure-entitlement network.host: %w", r.Address, err)
	case grpcerrors.Code(err) == codes.Unavailable || strings.Contains(msg, "connection reset") || strings.Contains(msg, "EOF") && strings.Contains(msg, "transport"):
		return fmt.Errorf("builder %s went away during the build: %w (%w)", r.Address, err, ErrEngineGone)
	}
	return fmt.Errorf("on builder %s: %w", r.Address, err)
}

// Client is the BuildKit client of the builder, for disk usage and pruning.
func (r *Remote) Client() *client.Client { return r.client }

// Close drops the connection.
func (r *Remote) Close() error { return r.client.Close() }
