package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/lkpkg/lkpkg/frontend"
	"github.com/lkpkg/lkpkg/snapshot"
)

// An Output is where a package goes once the linuxkit cache holds it: every build lands in the cache first, and
// outputs read from there (containers-storage, a Docker daemon, a registry). Adding a destination is a new Output,
// never a new branch in Run.
type Output interface {
	// Publish hands on every platform of plan's package, read from cache.
	Publish(ctx context.Context, cache *snapshot.Cache, plan *frontend.BuildPlan) error
	Close() error
}

// A CacheReader is an Output that reads a package's images from the linuxkit cache, so a package found in the
// registry is pulled into the cache for it rather than left there.
type CacheReader interface {
	ReadsCache(plan *frontend.BuildPlan) bool
}

// A Preparer is an Output with checks to make before anything is built, so that a run that could not publish
// fails before it spends time building.
type Preparer interface {
	Prepare(loader *frontend.Loader, plans []*frontend.BuildPlan) error
}

// MultiOutput publishes to each of its outputs in turn, like tee; the first failure stops it.
type MultiOutput []Output

// Prepare runs the checks of every output that has any.
func (m MultiOutput) Prepare(loader *frontend.Loader, plans []*frontend.BuildPlan) error {
	for _, o := range m {
		if p, ok := o.(Preparer); ok {
			if err := p.Prepare(loader, plans); err != nil {
				return err
			}
		}
	}
	return nil
}

// ReadsCache says whether any output reads plan's package from the cache.
func (m MultiOutput) ReadsCache(plan *frontend.BuildPlan) bool {
	for _, o := range m {
		if r, ok := o.(CacheReader); ok && r.ReadsCache(plan) {
			return true
		}
	}
	return false
}

// Publish publishes plan's package to each output in turn.
func (m MultiOutput) Publish(ctx context.Context, cache *snapshot.Cache, plan *frontend.BuildPlan) error {
	for _, o := range m {
		if err := o.Publish(ctx, cache, plan); err != nil {
			return err
		}
	}
	return nil
}

// Close closes every output.
func (m MultiOutput) Close() error {
	var errs []error
	for _, o := range m {
		errs = append(errs, o.Close())
	}
	return errors.Join(errs...)
}

// StoreOutput commits each package into a containers-storage store (podman's): <FullTag>-<arch> per platform, and
// the host's architecture also as <FullTag>, as linuxkit's --docker names what it loads. Manifest digests are
// kept.
type StoreOutput struct {
	store *snapshot.Store
	log   io.Writer
}

// NewStoreOutput opens the store now, so that one that cannot be written fails the run before anything is built.
func NewStoreOutput(opts snapshot.StoreOptions, log io.Writer) (*StoreOutput, error) {
	s, err := snapshot.OpenStore(opts)
	if err != nil {
		return nil, err
	}
	return &StoreOutput{store: s, log: log}, nil
}

func (o *StoreOutput) Publish(ctx context.Context, cache *snapshot.Cache, plan *frontend.BuildPlan) error {
	tag := plan.Package.FullTag()
	images, err := platformImages(plan)
	if err != nil {
		return err
	}
	for _, img := range images {
		names := []string{img.name}
		if img.platform.OS == "linux" && img.platform.Architecture == runtime.GOARCH {
			names = append(names, tag)
		}
		// A build names each platform's manifest <FullTag>-<arch>; an image pulled into the cache may have only
		// its index <FullTag>, whose child for the platform is then used.
		from, err := cache.FindName(img.name, tag)
		if err != nil {
			return err
		}
		dgst, err := cache.CopyToStore(ctx, o.store, from, img.platform, names...)
		if err != nil {
			return err
		}
		fmt.Fprintf(o.log, "Stored %s (%s) in containers-storage at %s\n", strings.Join(names, ", "), dgst, o.store.GraphRoot())
	}
	return nil
}

func (o *StoreOutput) Close() error { return o.store.Close() }

func (o *StoreOutput) ReadsCache(*frontend.BuildPlan) bool { return true }

// DockerOutput loads each package into a Docker daemon: <FullTag>-<arch> per platform, the host's also as
// <FullTag>, as linuxkit's --docker does.
type DockerOutput struct {
	daemon *snapshot.DockerDaemon
	log    io.Writer
}

// NewDockerOutput loads into daemon, which the caller has connected to (so that a daemon that does not answer
// fails the run before anything is built).
func NewDockerOutput(daemon *snapshot.DockerDaemon, log io.Writer) *DockerOutput {
	return &DockerOutput{daemon: daemon, log: log}
}

func (o *DockerOutput) Publish(ctx context.Context, cache *snapshot.Cache, plan *frontend.BuildPlan) error {
	if len(plan.Platforms) == 0 {
		return nil
	}
	var images []snapshot.DockerImage
	tag := plan.Package.FullTag()
	platforms, err := platformImages(plan)
	if err != nil {
		return err
	}
	for _, pi := range platforms {
		img := snapshot.DockerImage{CacheName: pi.name, Platform: pi.platform, Tags: []string{pi.name}}
		if pi.spec == snapshot.HostPlatform() {
			img.Tags = append(img.Tags, tag)
		}
		images = append(images, img)
	}
	if err := o.daemon.Load(ctx, cache, images); err != nil {
		return err
	}
	fmt.Fprintf(o.log, "Loaded %s into Docker at %s\n", plan.Package.Tag(), o.daemon.Host)
	return nil
}

func (o *DockerOutput) Close() error { return nil }

func (o *DockerOutput) ReadsCache(*frontend.BuildPlan) bool { return true }

// platformImage is one platform of a package as the outputs name it: <FullTag>-<arch>.
type platformImage struct {
	spec     string // as the plan lists it, os/arch[/variant]
	platform ocispec.Platform
	name     string
}

func platformImages(plan *frontend.BuildPlan) ([]platformImage, error) {
	tag := plan.Package.FullTag()
	images := make([]platformImage, 0, len(plan.Platforms))
	for _, pl := range plan.Platforms {
		p, err := snapshot.ParsePlatform(pl)
		if err != nil {
			return nil, err
		}
		images = append(images, platformImage{spec: pl, platform: p, name: snapshot.ArchName(tag, p.Architecture)})
	}
	return images, nil
}
