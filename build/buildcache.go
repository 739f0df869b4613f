package build

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/moby/buildkit/client"

	"github.com/lkpkg/lkpkg/executor"
)

// BuildCache is one build cache `pkg builder du|prune` acts on: the in-process engine's (its state dir) or a
// --builders target's.
type BuildCache struct {
	Name   string
	client *client.Client
	close  func() error
}

// OpenBuildCaches opens the in-process engine with engine (unless remoteOnly) and dials each builder address of
// builders once, in address order. On error, what was opened is closed again.
func OpenBuildCaches(ctx context.Context, engine executor.Options, builders map[string]string, remoteOnly bool) ([]BuildCache, error) {
	var caches []BuildCache
	closeAll := func() {
		for _, c := range caches {
			_ = c.close() // the dial error is what the user needs; these caches did no work yet
		}
	}
	if !remoteOnly {
		e, err := executor.Open(ctx, engine)
		if err != nil {
			return nil, err
		}
		caches = append(caches, BuildCache{Name: "in-process engine (" + e.StateDir() + ")", client: e.Client(), close: e.Close})
	}
	var addrs []string
	for _, a := range builders {
		if !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	slices.Sort(addrs)
	for _, a := range addrs {
		r, err := executor.Dial(ctx, a, BuilderDialTimeout)
		if err != nil {
			closeAll()
			return nil, err
		}
		caches = append(caches, BuildCache{Name: "builder " + r.Address, client: r.Client(), close: r.Close})
	}
	return caches, nil
}

// DiskUsage lists the cache's records.
func (b BuildCache) DiskUsage(ctx context.Context) ([]*client.UsageInfo, error) {
	du, err := b.client.DiskUsage(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: disk usage: %w", b.Name, err)
	}
	return du, nil
}

// Prune removes what nothing refers to (every record with all), keeping what was used within keepDuration and,
// when keepStorage is not 0, at most keepStorage bytes; it says how many records and bytes went.
func (b BuildCache) Prune(ctx context.Context, keepDuration time.Duration, keepStorage int64, all bool) (records int, freed int64, err error) {
	opts := []client.PruneOption{client.WithKeepOpt(keepDuration, 0, keepStorage, 0)}
	if all {
		opts = append(opts, client.PruneAll)
	}
	ch := make(chan client.UsageInfo)
	done := make(chan struct{})
	go func() {
		for u := range ch {
			freed += u.Size
			records++
		}
		close(done)
	}()
	err = b.client.Prune(ctx, ch, opts...)
	close(ch)
	<-done
	if err != nil {
		return 0, 0, fmt.Errorf("%s: prune: %w", b.Name, err)
	}
	return records, freed, nil
}

// Close closes the engine (flushing its state) or the connection to the builder.
func (b BuildCache) Close() error { return b.close() }
