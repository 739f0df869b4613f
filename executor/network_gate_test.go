package executor

import (
	"context"
	"testing"
	"time"
)

func TestNetworkGateSeparatesPolicies(t *testing.T) {
	g := newNetworkGate()
	ctx := context.Background()
	releaseNone, err := g.acquire(ctx, NetworkNone)
	if err != nil {
		t.Fatal(err)
	}
	releaseNone2, err := g.acquire(ctx, NetworkNone) // same policy: no wait
	if err != nil {
		t.Fatal(err)
	}
	if g.hostAllowed() {
		t.Fatal("host allowed during offline solves")
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := g.acquire(short, NetworkHost); err == nil {
		t.Fatal("host solve admitted while offline solves run")
	}
	got := make(chan func(), 1)
	go func() {
		release, _ := g.acquire(ctx, NetworkHost)
		got <- release
	}()
	releaseNone()
	releaseNone2()
	select {
	case releaseHost := <-got:
		if !g.hostAllowed() {
			t.Error("host not allowed during a host solve")
		}
		releaseHost()
	case <-time.After(5 * time.Second):
		t.Fatal("host solve never admitted")
	}
	if g.hostAllowed() {
		t.Error("host still allowed after the host solve ended")
	}
}
