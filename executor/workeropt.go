package executor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/containerd/containerd/v2/core/diff/apply"
	ctdmetadata "github.com/containerd/containerd/v2/core/metadata"
	ctdsnapshot "github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/containerd/containerd/v2/plugins/diff/walking"
	"github.com/containerd/platforms"
	"github.com/moby/buildkit/cache/metadata"
	"github.com/moby/buildkit/executor/resources"
	"github.com/moby/buildkit/executor/runcexecutor"
	containerdsnapshot "github.com/moby/buildkit/snapshot/containerd"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/util/db/boltutil"
	"github.com/moby/buildkit/util/leaseutil"
	"github.com/moby/buildkit/util/network"
	"github.com/moby/buildkit/util/winlayers"
	"github.com/moby/buildkit/worker/base"
	wlabel "github.com/moby/buildkit/worker/label"
	"github.com/moby/buildkit/worker/runc"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	bolt "go.etcd.io/bbolt"
)

// workerSpec is what lkpkg's OCI worker is made of.
type workerSpec struct {
	stateDir    string
	snapshotter runc.SnapshotterFactory
	rootless    bool // in a user namespace: no cgroups, no /sys mount in RUN steps' specs
	sandbox     sandbox
	runtime     string // the container runtime binary (lkpkg itself, see installRuntime)
	networks    map[pb.NetMode]network.Provider
	noSync      bool // commit unsyncedDBs without fdatasync (durability.go)
	watchdog    *watchdog
}

// workerRoot is where the worker keeps its databases, content and snapshots.
func workerRoot(stateDir, snapshotter string) string {
	return filepath.Join(stateDir, "runc-"+snapshotter)
}

// newWorkerOpt assembles BuildKit's OCI worker as BuildKit's own runc worker does, with two differences. It has
// no egress proxy provider: lkpkg's solves never ask for BuildKit's proxied network, creating the provider
// generates an RSA key at every start (most of the engine's start-up time), and without it a proxied step would
// fail rather than reach the host's network around build.yml's policy. And with spec.noSync, the two busiest
// metadata databases commit without fdatasync (see durability.go: they are synced once at close). On error, the
// databases opened are closed again; the snapshotter is the caller's to close.
func newWorkerOpt(ctx context.Context, spec workerSpec) (_ base.WorkerOpt, rerr error) {
	var opt base.WorkerOpt
	root := workerRoot(spec.stateDir, spec.snapshotter.Name)
	if err := os.MkdirAll(root, 0o700); err != nil {
		return opt, err
	}
	var closers []func() error
	defer func() {
		if rerr != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				_ = closers[i]() // rerr is the error to report
			}
		}
	}()
	monitor, err := resources.NewMonitor()
	if err != nil {
		return opt, fmt.Errorf("cgroup monitor: %w", err)
	}
	interactive, err := runcexecutor.New(runcexecutor.Opt{
		Root:              filepath.Join(root, "executor"),
		CommandCandidates: []string{spec.runtime},
		Rootless:          spec.rootless,
		ProcessMode:       spec.sandbox.processMode,
		ResourceMonitor:   monitor,
	}, spec.networks)
	if err != nil {
		return opt, err
	}
	exec, err := newContainerExecutor(filepath.Join(root, "executor"), containersDir(spec.runtime),
		spec.rootless, spec.sandbox, spec.networks, interactive, spec.watchdog)
	if err != nil {
		return opt, err
	}
	snap, err := spec.snapshotter.New(filepath.Join(root, "snapshots"))
	if err != nil {
		return opt, err
	}
	blobs, err := local.NewStore(filepath.Join(root, "content"))
	if err != nil {
		return opt, err
	}
	contentDB, err := boltutil.Open(filepath.Join(root, unsyncedDBs[0]), 0o644,
		&bolt.Options{FreelistType: bolt.FreelistMapType, NoFreelistSync: true, NoSync: spec.noSync})
	if err != nil {
		return opt, err
	}
	closers = append(closers, contentDB.Close)
	mdb := ctdmetadata.NewDB(contentDB, blobs, map[string]ctdsnapshot.Snapshotter{spec.snapshotter.Name: snap})
	if err := mdb.Init(ctx); err != nil {
		return opt, err
	}
	records, err := metadata.NewStore(filepath.Join(root, unsyncedDBs[1]))
	if err != nil {
		return opt, err
	}
	closers = append(closers, records.Close)
	// metadata.NewStore takes no bolt options; its handle is reachable only inside a transaction, before any use.
	if spec.noSync {
		if err := records.DB().View(func(tx *bolt.Tx) error { tx.DB().NoSync = true; return nil }); err != nil {
			return opt, err
		}
	}
	id, err := base.ID(root)
	if err != nil {
		return opt, err
	}
	store := containerdsnapshot.NewContentStore(mdb.ContentStore(), "buildkit")
	applier := apply.NewFileSystemApplier(store)
	if spec.sandbox.singleID {
		applier = rootOwnedApplier{store: store}
	}
	return base.WorkerOpt{
		ID:   id,
		Root: root,
		Labels: map[string]string{
			wlabel.Executor:       "oci",
			wlabel.Snapshotter:    spec.snapshotter.Name,
			wlabel.Network:        "host",
			wlabel.OCIProcessMode: spec.sandbox.processMode.String(),
		},
		MetadataStore:    records,
		ContentMetadata:  contentDB,
		NetworkProviders: spec.networks,
		Executor:         exec,
		Snapshotter:      containerdsnapshot.NewSnapshotter(spec.snapshotter.Name, mdb.Snapshotter(spec.snapshotter.Name), "buildkit", nil),
		ContentStore:     store,
		Applier:          winlayers.NewFileSystemApplierWithWindows(store, applier),
		Differ:           winlayers.NewWalkingDiffWithWindows(store, walking.NewWalkingDiff(store)),
		Platforms:        []ocispecs.Platform{platforms.Normalize(platforms.DefaultSpec())},
		LeaseManager:     leaseutil.WithNamespace(ctdmetadata.NewLeaseManager(mdb), "buildkit"),
		GarbageCollect:   mdb.GarbageCollect,
		MountPoolRoot:    filepath.Join(root, "cachemounts"),
		ResourceMonitor:  monitor,
	}, nil
}
