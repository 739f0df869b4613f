package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	ctdsnapshot "github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/core/snapshots/storage"
	"github.com/containerd/containerd/v2/plugins/snapshots/native"
	"github.com/containerd/containerd/v2/plugins/snapshots/overlay"
	"github.com/containerd/containerd/v2/plugins/snapshots/overlay/overlayutils"
	"github.com/moby/buildkit/cache"
	"github.com/moby/buildkit/cache/contenthash"
	"github.com/moby/buildkit/control"
	"github.com/moby/buildkit/frontend"
	dockerfile "github.com/moby/buildkit/frontend/dockerfile/builder"
	"github.com/moby/buildkit/frontend/gateway/forwarder"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/solver"
	"github.com/moby/buildkit/solver/bboltcachestorage"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/util/db/boltutil"
	"github.com/moby/buildkit/util/entitlements"
	"github.com/moby/buildkit/util/network"
	"github.com/moby/buildkit/util/resolver"
	"github.com/moby/buildkit/worker"
	"github.com/moby/buildkit/worker/base"
	"github.com/moby/buildkit/worker/runc"
	"github.com/moby/sys/userns"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sync/semaphore"
)

// workerSet is the engine's single OCI worker and what closing it needs.
type workerSet struct {
	sessions    *session.Manager
	controller  *worker.Controller
	worker      *base.Worker
	snapshotter ctdsnapshot.Snapshotter // BuildKit never closes it
	relaxed     *relaxedDBs             // synced after the worker closed
	watchdog    *watchdog               // removes RUN steps' containers should lkpkg die
	// snapshotterName is the snapshotter in use; overlayRefused why it is not overlayfs, when it was not asked for.
	snapshotterName string
	overlayRefused  error
}

func newWorkerSet(ctx context.Context, opts Options, gate *networkGate, sb sandbox) (*workerSet, error) {
	stateDir := opts.StateDir
	runtimePath, err := installRuntime(stateDir)
	if err != nil {
		return nil, err
	}
	ws := &workerSet{controller: &worker.Controller{}, watchdog: &watchdog{root: containersDir(runtimePath), stateDir: stateDir}}
	noteExecutableCopies(opts.Debug, ws.watchdog.root)
	// The watchdog starts with the engine, not with the first RUN step: a lkpkg killed while it unpacks base images
	// leaves mounts under the state dir too. A failed start is the first RUN step's error (watch).
	_ = ws.watchdog.start()
	if ws.sessions, err = session.NewManager(); err != nil {
		return nil, err
	}
	snapshotter := ws.snapshotterFactory(stateDir, opts.Snapshotter)
	ws.snapshotterName = snapshotter.Name
	if ws.relaxed, err = markUnsynced(stateDir, workerRoot(stateDir, snapshotter.Name)); err != nil {
		return nil, err
	}
	networks := map[pb.NetMode]network.Provider{}
	enforceNetworkPolicy(networks, gate)
	// In a user namespace (a rootless build) BuildKit leaves cgroups and the /sys mount out of RUN steps'
	// specs; the runtime gives them the host's /sys instead (see ociruntime).
	opt, err := newWorkerOpt(ctx, workerSpec{stateDir: stateDir, snapshotter: snapshotter,
		rootless: userns.RunningInUserNS(), sandbox: sb, runtime: runtimePath, networks: networks, noSync: ws.relaxed != nil,
		watchdog: ws.watchdog})
	if err != nil {
		_ = ws.closeSnapshotter() // the set-up error is the one to report
		return nil, fmt.Errorf("set up BuildKit worker in %s: %w", stateDir, err)
	}
	opt.RegistryHosts = resolver.NewRegistryConfig(opts.Registries)
	opt.GCPolicy = opts.GCPolicy
	if opts.config.maxParallelism > 0 {
		opt.ParallelismSem = semaphore.NewWeighted(int64(opts.config.maxParallelism))
	}
	if ws.worker, err = base.NewWorker(ctx, opt); err != nil {
		opt.MetadataStore.Close()
		opt.ContentMetadata.Close()
		_ = ws.closeSnapshotter() // the set-up error is the one to report
		return nil, fmt.Errorf("start BuildKit worker: %w", err)
	}
	return ws, ws.controller.Add(ws.worker)
}

// snapshotterFactory makes the named snapshotter; without a name, overlayfs
// when the state dir's filesystem supports it and the (slower, copying)
// native snapshotter otherwise.
func (ws *workerSet) snapshotterFactory(stateDir, name string) runc.SnapshotterFactory {
	keep := func(s ctdsnapshot.Snapshotter, err error) (ctdsnapshot.Snapshotter, error) {
		ws.snapshotter = s
		return s, err
	}
	if name == "" {
		ws.overlayRefused = overlayutils.Supported(stateDir)
	}
	if name == "overlayfs" || (name == "" && ws.overlayRefused == nil) {
		return runc.SnapshotterFactory{Name: "overlayfs", New: func(root string) (ctdsnapshot.Snapshotter, error) {
			// Its metadata database commits unsynced like the worker's when the state is marked (durability.go).
			if err := os.MkdirAll(root, 0o700); err != nil {
				return nil, err
			}
			noSync := ws.relaxed != nil
			ms, err := storage.NewMetaStore(filepath.Join(root, snapshotsDB), func(o *bolt.Options) error {
				o.NoSync = noSync
				return nil
			})
			if err != nil {
				return nil, err
			}
			return keep(overlay.NewSnapshotter(root, overlay.AsynchronousRemove, overlay.WithMetaStore(ms)))
		}}
	}
	return runc.SnapshotterFactory{Name: "native", New: func(root string) (ctdsnapshot.Snapshotter, error) {
		return keep(native.NewSnapshotter(root))
	}}
}

// forgetChecksums drops BuildKit's process-wide checksum cache entries for
// this worker's refs: they keep handles on the worker's metadata database,
// so an engine opened later in the same process on the same state dir
// would otherwise fail with "database not open".
func (ws *workerSet) forgetChecksums() {
	if ws.worker == nil {
		return
	}
	items, err := ws.worker.MetadataStore.All()
	if err != nil {
		return
	}
	for _, item := range items {
		contenthash.ClearCacheContext(refID{id: item.ID()})
	}
}

// refID is a cache.RefMetadata that knows only its ID, all that
// contenthash.ClearCacheContext asks of it.
// Calling any other method would panic on the nil embedded interface.
type refID struct {
	cache.RefMetadata
	id string
}

func (r refID) ID() string { return r.id }

func (ws *workerSet) closeSnapshotter() error {
	if ws.snapshotter == nil {
		return nil
	}
	err := ws.snapshotter.Close()
	ws.snapshotter = nil
	return err
}

// newController wires the solver around the worker with only the built-in
// Dockerfile frontend: no gateway.v0, so "# syntax=" cannot pull and run a
// frontend image behind the build's network policy.
func newController(ctx context.Context, stateDir string, ws *workerSet) (*control.Controller, error) {
	frontends := map[string]frontend.Frontend{
		"dockerfile.v0": forwarder.NewGatewayForwarder(ws.controller.Infos(), dockerfile.Build),
	}
	cacheStore, err := bboltcachestorage.NewStore(filepath.Join(stateDir, "cache.db"))
	if err != nil {
		return nil, fmt.Errorf("open build cache db: %w", err)
	}
	history, err := boltutil.SafeOpen(filepath.Join(stateDir, historyDB), 0o600,
		&bolt.Options{FreelistType: bolt.FreelistMapType, NoFreelistSync: true, NoSync: ws.relaxed != nil})
	if err != nil {
		cacheStore.Close()
		return nil, fmt.Errorf("open build history db: %w", err)
	}
	w := ws.worker
	c, err := control.NewController(control.Opt{
		SessionManager:   ws.sessions,
		WorkerController: ws.controller,
		Frontends:        frontends,
		CacheManager:     solver.NewCacheManager(ctx, "local", cacheStore, worker.NewCacheResultStorage(ws.controller)),
		CacheStore:       cacheStore,
		// Allowed here, granted per solve only to builds with NetworkHost.
		Entitlements:   []string{string(entitlements.EntitlementNetworkHost)},
		HistoryDB:      history,
		LeaseManager:   w.LeaseManager(),
		ContentStore:   w.ContentStore(),
		GarbageCollect: w.GarbageCollect,
		GracefulStop:   ctx.Done(),
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("start BuildKit controller: %w", err), history.Close(), cacheStore.Close())
	}
	return c, nil
}
