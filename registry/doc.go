// Package registry owns everything that crosses the network to an image registry: which hosts are plain HTTP
// or self-signed and which CAs to trust (Hosts), and the credentials users keep for docker and podman
// (Credentials). Push, pull and signing build on these.
package registry
