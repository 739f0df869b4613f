package executor

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/util/network"
)

// NetworkMode is the network a build's RUN steps get.
type NetworkMode string

const (
	// NetworkNone gives RUN steps only a loopback interface. It is the default.
	NetworkNone NetworkMode = "none"
	// NetworkHost gives RUN steps the host's network.
	NetworkHost NetworkMode = "host"
)

func parseNetworkMode(s string) (NetworkMode, error) {
	switch NetworkMode(s) {
	case "", NetworkNone:
		return NetworkNone, nil
	case NetworkHost:
		return NetworkHost, nil
	}
	return "", fmt.Errorf("unknown network mode %q: use %q or %q", s, NetworkNone, NetworkHost)
}

// networkGate holds the network policy of the solves in flight. The worker's
// network providers consult it when a RUN step starts, so the policy is
// enforced by the worker itself, not only by frontend attributes. Solves
// with different policies never overlap; solves with the same one may.
type networkGate struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever active drops to 0
	mode    NetworkMode
	active  int
}

func newNetworkGate() *networkGate {
	return &networkGate{changed: make(chan struct{}), mode: NetworkNone}
}

// acquire waits until no solve with another policy is running, then makes
// mode the policy until release is called.
func (g *networkGate) acquire(ctx context.Context, mode NetworkMode) (release func(), err error) {
	for {
		g.mu.Lock()
		if g.active == 0 || g.mode == mode {
			g.mode = mode
			g.active++
			g.mu.Unlock()
			return g.release, nil
		}
		wait := g.changed
		g.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

func (g *networkGate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.active--
	if g.active == 0 {
		g.mode = NetworkNone
		close(g.changed)
		g.changed = make(chan struct{})
	}
}

func (g *networkGate) hostAllowed() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.active > 0 && g.mode == NetworkHost
}

// gatedProvider serves the default and the host network modes: the host
// network only while a NetworkHost solve holds the gate, otherwise the
// default mode becomes "none" and an explicit host request fails.
type gatedProvider struct {
	gate           *networkGate
	host, none     network.Provider
	explicitlyHost bool
}

func (p *gatedProvider) New(ctx context.Context, hostname string, opt network.NamespaceOptions) (network.Namespace, error) {
	if p.gate.hostAllowed() {
		return p.host.New(ctx, hostname, opt)
	}
	if p.explicitlyHost {
		return nil, errors.New("RUN --network=host is not allowed: this build has no network (set network: true to allow it)")
	}
	return p.none.New(ctx, hostname, opt)
}

func (p *gatedProvider) Close() error { return nil }

// enforceNetworkPolicy rewires the worker's provider map in place (the runc
// executor holds the same map) so that the gate decides every RUN's network.
func enforceNetworkPolicy(providers map[pb.NetMode]network.Provider, gate *networkGate) {
	host, none := network.NewHostProvider(), network.NewNoneProvider()
	providers[pb.NetMode_NONE] = none
	providers[pb.NetMode_UNSET] = &gatedProvider{gate: gate, host: host, none: none}
	providers[pb.NetMode_HOST] = &gatedProvider{gate: gate, host: host, none: none, explicitlyHost: true}
}
