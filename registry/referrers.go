package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Annotations cosign v3 puts on the referrer manifest of a bundle (pkg/oci/remote WriteAttestationNewBundleFormat).
const (
	annotationBundleContent       = "dev.sigstore.bundle.content"
	annotationBundlePredicateType = "dev.sigstore.bundle.predicateType"
)

// maxBundleSize bounds what is read of a referrer's layer: a key-signed bundle is a few kilobytes.
const maxBundleSize = 4 << 20

// referrer is an artifact attached to a subject: the referrer manifest's descriptor and its one layer's bytes.
type referrer struct {
	Manifest v1.Descriptor
	Content  []byte
}

// referrers lists the artifacts of artifactType attached to subject: from the registry's referrers API
// (GET /v2/<name>/referrers/<digest>), or, where the registry has none (it answers 404 or 400), from the
// referrers tag schema (an index tagged sha256-<hex>). Each one's single layer is read.
//
// The listing is not filtered by artifactType on the server, and a listed artifactType is not trusted alone:
// some registries (go-containerregistry's among them) report the config media type instead of the manifest's
// artifactType, so a referrer listed with the empty config's type is looked at too, as cosign does.
func (p *Remote) referrers(ctx context.Context, subject name.Digest, artifactType string) ([]referrer, error) {
	idx, err := remote.Referrers(subject, p.options(ctx)...)
	if err != nil {
		return nil, p.explain(subject.String(), fmt.Errorf("listing referrers: %w", err))
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, p.explain(subject.String(), fmt.Errorf("listing referrers: %w", err))
	}
	var out []referrer
	for _, d := range im.Manifests {
		if d.ArtifactType != artifactType && d.ArtifactType != ocispec.MediaTypeEmptyJSON && d.ArtifactType != "" {
			continue
		}
		content, err := p.referrerContent(ctx, subject.Context().Digest(d.Digest.String()), types.MediaType(artifactType))
		if err != nil {
			return nil, err
		}
		if content != nil {
			out = append(out, referrer{Manifest: d, Content: content})
		}
	}
	return out, nil
}

// referrerContent reads the one layer of mediaType of the referrer manifest ref; nil when the manifest is not
// shaped like that (another tool's artifact with the same artifactType).
func (p *Remote) referrerContent(ctx context.Context, ref name.Digest, mediaType types.MediaType) ([]byte, error) {
	img, err := remote.Image(ref, p.options(ctx)...)
	if err != nil {
		return nil, p.explain(ref.String(), err)
	}
	raw, err := img.RawManifest()
	if err != nil {
		return nil, p.explain(ref.String(), err)
	}
	var m struct {
		ArtifactType string          `json:"artifactType"`
		Layers       []v1.Descriptor `json:"layers"`
	}
	if err := json.Unmarshal(raw, &m); err != nil || m.ArtifactType != string(mediaType) {
		return nil, nil
	}
	if len(m.Layers) != 1 || m.Layers[0].MediaType != mediaType || m.Layers[0].Size > maxBundleSize {
		return nil, nil
	}
	layer, err := img.LayerByDigest(m.Layers[0].Digest)
	if err != nil {
		return nil, p.explain(ref.String(), err)
	}
	rc, err := layer.Compressed() // the blob as stored; a bundle is never compressed
	if err != nil {
		return nil, p.explain(ref.String(), err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxBundleSize))
	if err != nil {
		return nil, p.explain(ref.String(), err)
	}
	return b, nil
}

// attach pushes content as an OCI 1.1 referrer of subject, shaped as cosign v3 shapes a bundle: an image manifest
// with artifactType, the empty config, one layer holding content, subject set, and the annotations. go-containerregistry's
// manifest PUT keeps the referrers tag schema index (sha256-<hex>) up to date itself when the registry has no
// referrers API, adding to an index that is there rather than replacing it. It returns the referrer's digest.
func (p *Remote) attach(ctx context.Context, subject name.Digest, subjectDesc v1.Descriptor, artifactType string,
	content []byte, annotations map[string]string) (digest.Digest, error) {
	repo := subject.Context()
	opts := p.options(ctx)
	empty := ocispec.DescriptorEmptyJSON
	for _, blob := range []struct {
		data []byte
		mt   string
	}{{empty.Data, empty.MediaType}, {content, artifactType}} {
		if err := remote.WriteLayer(repo, static.NewLayer(blob.data, types.MediaType(blob.mt)), opts...); err != nil {
			return "", p.explain(repo.String(), fmt.Errorf("uploading a %s blob: %w", blob.mt, err))
		}
	}
	m := ocispec.Manifest{
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: artifactType,
		Config:       ocispec.Descriptor{MediaType: empty.MediaType, Digest: empty.Digest, Size: empty.Size},
		Layers: []ocispec.Descriptor{{MediaType: artifactType, Digest: digest.FromBytes(content),
			Size: int64(len(content))}},
		Subject: &ocispec.Descriptor{MediaType: string(subjectDesc.MediaType),
			Digest: digest.Digest(subjectDesc.Digest.String()), Size: subjectDesc.Size},
		Annotations: annotations,
	}
	m.SchemaVersion = 2
	raw, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	d := digest.FromBytes(raw)
	if err := remote.Put(repo.Digest(d.String()), rawManifest{raw, types.OCIManifestSchema1}, opts...); err != nil {
		return "", p.explain(repo.String(), fmt.Errorf("pushing the referrer of %s: %w", subject.DigestStr(), err))
	}
	return d, nil
}

// createdNow is the org.opencontainers.image.created annotation cosign puts on a referrer.
func createdNow() string { return time.Now().UTC().Format(time.RFC3339) }
