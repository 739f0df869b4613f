// Package snapshot owns the linuxkit cache: an OCI image layout (by default ~/.linuxkit/cache) that lkpkg and
// linuxkit share, so layout, entry names and lock are linuxkit's. It also copies cache entries out: exports
// (Export: an OCI layout tar, a docker archive, a filesystem tar), containers-storage (Store, CopyToStore) and a
// Docker daemon (DockerDaemon). build and registry take from it linuxkit's image names and platform rules
// (names.go: ArchName, ImageArch, the merge keys, CanonicalOrder), the media-type classifier (IsIndexMediaType,
// IsManifestMediaType) and one go-containerregistry view of a cache entry (Cache.Image, Cache.Layer).
//
// On disk:
//   - oci-layout, index.json, blobs/sha256/<hex>, as ggcr's layout package writes them;
//   - .lock: linuxkit's lock, an fcntl F_WRLCK over the whole file, taken for every read and write of index.json;
//   - transient .tmp-* and .index.json.tmp-* files while a write is in flight.
//
// Each named entry is a top-level index.json descriptor whose org.opencontainers.image.ref.name is the full
// reference (docker.io/linuxkit/init:<hash>, docker.io/linuxkit/init:<hash>-amd64). Per-arch builds are merged into
// one index by IndexWriteNamed, with linuxkit's rules.
//
// Where lkpkg differs from linuxkit, deliberately:
//   - Every write is crash-safe. A blob is written to a temporary file in the cache directory, checked against its
//     digest, fsynced and renamed into blobs/, and the directory fsynced, before any index.json names it;
//     index.json is replaced by rename. A process killed at any point leaves a valid layout: at worst a stray
//     temporary file (removed by OpenCache after a day, or by Clean) and orphan blobs, never a partial blob or a
//     name without its blob. linuxkit rewrites index.json in place.
//   - Remove deletes only the blobs that no remaining index.json entry reaches (linuxkit's deletes every blob of the
//     removed image, breaking images that share layers). IndexWriteNamed likewise deletes the index it replaces only
//     when no other name uses it. Garbage collection only ever considers the blobs of what was just removed or
//     replaced, never the whole blobs directory, because another process may have written blobs that its
//     index.json update has not named yet; writers check, under the lock, that the blob they name still exists.
//   - Clean empties the cache but keeps the directory valid (oci-layout, empty index.json, .lock), so a concurrent
//     user waiting on the lock finds an empty cache rather than a missing one; linuxkit removes the directory.
//   - Export's oci format labels the index.json descriptor with the manifest's own media type (linuxkit says
//     index), and the filesystem format honours opaque whiteouts.
//   - ImportOCI stages every blob before anything becomes visible: a bad or truncated tar adds nothing.
//   - Listing order is sorted, and lookups are exact; callers expand short names (see FindName).
//
// Concurrency: fcntl locks belong to a process, so goroutines of one process also serialise on a mutex per cache
// directory. Every method may be called from several goroutines and processes at once.
package snapshot
