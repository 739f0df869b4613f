package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ContentStore is the cache's blobs as a containerd content store, for BuildKit's OCI exporter to write a build's
// result straight into the cache: only blobs the cache lacks are sent (a build's base layers are already here),
// and nothing is packed into a tar to be unpacked again. Blobs are written as WriteBlob writes them: to a temporary
// file, checked against their digest, fsynced and renamed into blobs/. Nothing is named: the caller names what it
// keeps in one index.json update. Blobs are never deleted through it.
func (c *Cache) ContentStore() content.Store { return cacheStore{c} }

type cacheStore struct{ c *Cache }

func (s cacheStore) Info(_ context.Context, d digest.Digest) (content.Info, error) {
	p, err := s.c.blobPath(d)
	if err != nil {
		return content.Info{}, fmt.Errorf("%w: %w", errdefs.ErrInvalidArgument, err)
	}
	fi, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return content.Info{}, fmt.Errorf("blob %s: %w", d, errdefs.ErrNotFound)
	}
	if err != nil {
		return content.Info{}, err
	}
	return content.Info{Digest: d, Size: fi.Size(), CreatedAt: fi.ModTime(), UpdatedAt: fi.ModTime()}, nil
}

// Update keeps no labels: the cache has none.
func (s cacheStore) Update(ctx context.Context, info content.Info, _ ...string) (content.Info, error) {
	return s.Info(ctx, info.Digest)
}

func (s cacheStore) Walk(ctx context.Context, fn content.WalkFunc, _ ...string) error {
	dir := filepath.Join(s.c.dir, blobsDir, string(digest.SHA256))
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		d := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		if d.Validate() != nil {
			continue
		}
		info, err := s.Info(ctx, d)
		if err != nil {
			continue // removed meanwhile
		}
		if err := fn(info); err != nil {
			return err
		}
	}
	return nil
}

func (s cacheStore) Delete(context.Context, digest.Digest) error {
	return fmt.Errorf("the linuxkit cache's blobs are removed with `lkpkg cache rm`: %w", errdefs.ErrNotImplemented)
}

func (s cacheStore) ReaderAt(_ context.Context, desc ocispec.Descriptor) (content.ReaderAt, error) {
	f, err := s.c.OpenBlob(desc.Digest)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %w", err, errdefs.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return fileReaderAt{f, fi.Size()}, nil
}

type fileReaderAt struct {
	*os.File
	size int64
}

func (r fileReaderAt) Size() int64 { return r.size }

// Writes in progress are not kept across processes (a write is one temporary file, removed when it fails), so
// there is no status to report and nothing to abort.
func (s cacheStore) Status(_ context.Context, ref string) (content.Status, error) {
	return content.Status{}, fmt.Errorf("write %q: %w", ref, errdefs.ErrNotFound)
}

func (s cacheStore) ListStatuses(context.Context, ...string) ([]content.Status, error) {
	return nil, nil
}

func (s cacheStore) Abort(_ context.Context, ref string) error {
	return fmt.Errorf("write %q: %w", ref, errdefs.ErrNotFound)
}

// Writer writes one blob. A blob already in the cache, intact, is not written again (ErrAlreadyExists, which
// content.Copy takes as done).
func (s cacheStore) Writer(_ context.Context, opts ...content.WriterOpt) (content.Writer, error) {
	var wo content.WriterOpts
	for _, o := range opts {
		if err := o(&wo); err != nil {
			return nil, err
		}
	}
	if wo.Desc.Digest != "" {
		if _, err := s.c.blobPath(wo.Desc.Digest); err != nil {
			return nil, fmt.Errorf("%w: %w", errdefs.ErrInvalidArgument, err)
		}
		if s.c.HasIntactBlob(wo.Desc.Digest) {
			return nil, fmt.Errorf("blob %s: %w", wo.Desc.Digest, errdefs.ErrAlreadyExists)
		}
	}
	f, err := os.CreateTemp(s.c.dir, tmpPrefix+"blob-*")
	if err != nil {
		return nil, fmt.Errorf("write blob %s into the cache: %w", wo.Desc.Digest, err)
	}
	now := time.Now()
	return &blobWriter{c: s.c, f: f, ref: wo.Ref, desc: wo.Desc.Digest, total: wo.Desc.Size,
		digester: digest.SHA256.Digester(), started: now, updated: now}, nil
}

// blobWriter is one blob being written to a temporary file in the cache directory.
type blobWriter struct {
	c        *Cache
	f        *os.File
	ref      string
	desc     digest.Digest // the digest the writer was opened for, if any
	total    int64
	digester digest.Digester
	offset   int64
	started  time.Time
	updated  time.Time
	done     bool
}

func (w *blobWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.digester.Hash().Write(p[:n])
	w.offset += int64(n)
	w.updated = time.Now()
	return n, err
}

func (w *blobWriter) Digest() digest.Digest { return w.digester.Digest() }

func (w *blobWriter) Status() (content.Status, error) {
	return content.Status{Ref: w.ref, Offset: w.offset, Total: w.total, StartedAt: w.started, UpdatedAt: w.updated}, nil
}

// Truncate supports only a restart from the beginning, which is all content.Copy asks for.
func (w *blobWriter) Truncate(size int64) error {
	if size != 0 {
		return fmt.Errorf("truncate a blob being written to %d bytes: %w", size, errdefs.ErrNotImplemented)
	}
	if err := w.f.Truncate(0); err != nil {
		return err
	}
	if _, err := w.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	w.digester = digest.SHA256.Digester()
	w.offset = 0
	return nil
}

// Commit checks the blob against the size and digest expected (given here or when the writer was opened), makes
// it durable and renames it into place; on any error the temporary file is removed.
func (w *blobWriter) Commit(_ context.Context, size int64, expected digest.Digest, _ ...content.Opt) error {
	if w.done {
		return fmt.Errorf("blob %s: %w", expected, errdefs.ErrFailedPrecondition)
	}
	w.done = true
	tmp := w.f.Name()
	err := w.finish(size, expected)
	if err != nil {
		w.f.Close()
		os.Remove(tmp)
		return err
	}
	return w.c.commitBlob(tmp, w.Digest())
}

func (w *blobWriter) finish(size int64, expected digest.Digest) error {
	got := w.Digest()
	for _, want := range []digest.Digest{expected, w.desc} {
		if want != "" && want != got {
			return fmt.Errorf("blob %s: content does not match its digest (got %s): %w", want, got, errdefs.ErrFailedPrecondition)
		}
	}
	if size > 0 && size != w.offset {
		return fmt.Errorf("blob %s: got %d bytes, expected %d: %w", got, w.offset, size, errdefs.ErrFailedPrecondition)
	}
	return w.c.sealStaged(w.f, got)
}

// Close abandons a blob that was not committed.
func (w *blobWriter) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	tmp := w.f.Name()
	err := w.f.Close()
	os.Remove(tmp)
	return err
}
