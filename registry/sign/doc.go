// Package sign makes and checks cosign-compatible signatures of image digests, offline: a Sigstore bundle (v0.3)
// holding a DSSE envelope of an in-toto statement whose subject is the digest, with the predicate type cosign v3
// uses for `cosign sign` (https://sigstore.dev/cosign/sign/v1), signed with a key pair in cosign's own formats (the
// scrypt + secretbox encrypted private key PEM, a PKIX public key PEM). No Fulcio certificate, no transparency log,
// no timestamp authority: the bundle's verification material is the public key's hint, and whoever verifies
// supplies the key (`cosign verify --key cosign.pub --insecure-ignore-tlog=true`).
//
// The package knows nothing about registries; package registry attaches bundles to images as OCI referrers.
package sign
