// Package registry owns everything that crosses the network to an image registry: which hosts are plain HTTP
// or self-signed and which CAs to trust (Hosts), and the credentials users keep for docker and podman
// (Credentials); pulls into the linuxkit cache (Puller); pushes from it (Pusher), which send the cache's bytes
// unchanged, so digests are BuildKit's, and merge with an index already in the registry by linuxkit's rules
// (MergeIndex); signatures (Signer, Remote.Verify), cosign-compatible Sigstore bundles made by package sign and
// attached as OCI referrers, with the referrers tag schema where a registry has no referrers API. A push's blobs
// and manifests are copied by containers/image (cimage.go); everything else uses go-containerregistry's remote
// package, as linuxkit does, over one transport that adds Retry-After and failure counting (retry.go).
package registry
