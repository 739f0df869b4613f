package snapshot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/docker/reference"
	storagetransport "go.podman.io/image/v5/storage"
	"go.podman.io/image/v5/types"
	"go.podman.io/storage"
	"go.podman.io/storage/pkg/reexec"
)

// StoreMain runs containers-storage's helper when the binary was re-executed as one (it unpacks layers in a
// chroot that way) and reports whether it did; main must then return. Call it first thing in main, and in TestMain
// of tests that write into a store.
func StoreMain() bool { return reexec.Init() }

// StoreOptions choose a containers-storage store: the zero value is the one podman uses, from storage.conf
// (rootless users get theirs under ~/.local/share/containers). GraphRoot and RunRoot override its directories.
type StoreOptions struct {
	GraphRoot string
	RunRoot   string
}

// Store is an open containers-storage store, the one podman, buildah and skopeo's containers-storage: read.
type Store struct {
	store storage.Store
	sys   *types.SystemContext
}

// OpenStore opens (creating it if needed) the store opts name. Directories that cannot be written are refused
// with an error naming them, before anything is written into the store.
func OpenStore(opts StoreOptions) (*Store, error) {
	so, err := storage.DefaultStoreOptions()
	if err != nil {
		return nil, fmt.Errorf("containers-storage: reading storage.conf: %w", err)
	}
	if opts.GraphRoot != "" {
		so.GraphRoot = opts.GraphRoot
		// Images in an explicit store are not also looked for in storage.conf's additional stores.
		so.ImageStore = ""
	}
	if opts.RunRoot != "" {
		so.RunRoot = opts.RunRoot
	}
	for _, dir := range []string{so.GraphRoot, so.RunRoot} {
		if err := checkWritableDir(dir); err != nil {
			return nil, err
		}
	}
	st, err := storage.GetStore(so)
	if err != nil {
		hint := ""
		if os.Geteuid() != 0 && os.Getenv("_CONTAINERS_USERNS_CONFIGURED") == "" {
			// pkg build runs in its own user namespace (package rootless); other commands do not.
			hint = "; a rootless store needs a user namespace: build without --nobuild/--dry-run, or run inside `podman unshare`"
		}
		return nil, fmt.Errorf("containers-storage: opening the store at %s (run root %s): %w%s", so.GraphRoot, so.RunRoot, err, hint)
	}
	// c/image's blob-info cache sits next to the graph root, where podman keeps it for the default stores
	// (/var/lib/containers/cache, ~/.local/share/containers/cache), so an explicit store writes nothing elsewhere.
	sys := &types.SystemContext{BlobInfoCacheDir: filepath.Join(filepath.Dir(so.GraphRoot), "cache")}
	return &Store{store: st, sys: sys}, nil
}

// checkWritableDir creates dir if needed and proves it writable by creating and removing a file in it. Being root
// is not enough: a read-only mount or a file in the way still fail here, with a message that says what to do.
func checkWritableDir(dir string) error {
	if dir == "" {
		return errors.New("containers-storage: storage.conf names no graph root or run root; pass --store-root and --store-runroot")
	}
	fail := func(err error) error {
		return fmt.Errorf("containers-storage: store path not writable: %s: %w (pass a writable --store-root/--store-runroot, or fix storage.conf)", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fail(err)
	}
	f, err := os.CreateTemp(dir, ".lkpkg-probe-")
	if err != nil {
		return fail(err)
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return fail(err)
	}
	return nil
}

// GraphRoot is the store's image directory.
func (s *Store) GraphRoot() string { return s.store.GraphRoot() }

// RunRoot is the store's run-time directory.
func (s *Store) RunRoot() string { return s.store.RunRoot() }

// Close releases the store; layers it mounted stay mounted only if something else uses them.
func (s *Store) Close() error {
	_, err := s.store.Shutdown(false)
	return err
}

// CopyToStore copies the image for platform that the cache entry cacheName holds (the entry itself when it is an
// image manifest, its child for platform when it is an index), with its config and layers, into the store, named
// by every one of names (full references such as docker.io/linuxkit/init:<hash>-amd64). The manifest is stored
// unchanged, so the image keeps the digest it has in the cache (and in a registry it is pushed to); that digest is
// returned. A name already on another image in the store moves to this one. The cache's lock is held throughout,
// so a concurrent `cache rm` or `cache clean` cannot remove blobs while they are read.
func (c *Cache) CopyToStore(ctx context.Context, s *Store, cacheName string, platform ocispec.Platform, names ...string) (digest.Digest, error) {
	if len(names) == 0 {
		return "", errors.New("copying into containers-storage needs at least one name")
	}
	refs := make([]reference.Named, 0, len(names))
	for _, n := range names {
		named, err := reference.ParseNormalizedNamed(n)
		if err != nil {
			return "", fmt.Errorf("containers-storage: %q is not an image reference: %w", n, err)
		}
		refs = append(refs, reference.TagNameOnly(named))
	}
	var manifestDigest digest.Digest
	err := withLock(c.dir, func() error {
		idx, err := c.readIndexLocked()
		if err != nil {
			return err
		}
		root, err := findName(idx, cacheName)
		if err != nil {
			return err
		}
		img, err := c.resolveDesc(cacheName, root, platform, 0)
		if err != nil {
			return err
		}
		// Checked here, under the lock already held: never copy bytes that do not match their digests.
		if err := inEntry(cacheName, c.verifyTree(root, 0)); err != nil {
			return err
		}
		for _, d := range append([]ocispec.Descriptor{img.manifest.Config}, img.manifest.Layers...) {
			if !c.HasBlob(d.Digest) {
				return fmt.Errorf("cannot copy %s for %s into containers-storage: blob %s is not in the cache (a sparse "+
					"entry; pull it for this platform first)", cacheName, platformString(&platform), d.Digest)
			}
		}
		dst, err := storagetransport.Transport.NewStoreReference(s.store, refs[0], "")
		if err != nil {
			return err
		}
		manifest, err := c.CopyOut(ctx, cacheName, dst, CopyOut{Destination: s.sys,
			Platform: types.SystemContext{OSChoice: platform.OS, ArchitectureChoice: platform.Architecture, VariantChoice: platform.Variant}})
		if err != nil {
			return fmt.Errorf("copying %s into containers-storage at %s: %w", cacheName, s.GraphRoot(), err)
		}
		manifestDigest = digest.FromBytes(manifest)
		if manifestDigest != img.desc.Digest {
			return fmt.Errorf("copying %s into containers-storage changed its manifest digest from %s to %s", cacheName, img.desc.Digest, manifestDigest)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if len(refs) > 1 {
		img, err := s.store.Image(refs[0].String())
		if err != nil {
			return "", fmt.Errorf("containers-storage: finding %s after copying it: %w", refs[0], err)
		}
		var extra []string
		for _, r := range refs[1:] {
			extra = append(extra, r.String())
		}
		if err := s.store.AddNames(img.ID, extra); err != nil {
			return "", fmt.Errorf("containers-storage: naming %s: %w", refs[0], err)
		}
	}
	return manifestDigest, nil
}
