package executor

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// OCILayoutRef is the named-context value that makes the Dockerfile frontend load the image d from the OCI
// layout registered in SolveRequest.OCIStores as store.
func OCILayoutRef(store string, d digest.Digest) string {
	return "oci-layout://" + store + "@" + d.String()
}

// OCILayoutContext returns the named-context value that makes the
// Dockerfile frontend load the image tagged ref (index.json's
// org.opencontainers.image.ref.name, or io.containerd.image.name) from the
// OCI layout at layoutDir, registered in SolveRequest.OCIStores as store.
// Store names must be lower-case reference names, e.g. "linuxkit-cache".
func OCILayoutContext(store, layoutDir, ref string) (string, error) {
	var index ocispecs.Index
	data, err := os.ReadFile(filepath.Join(layoutDir, "index.json"))
	if err != nil {
		return "", fmt.Errorf("read OCI layout: %w", err)
	}
	if err := json.Unmarshal(data, &index); err != nil {
		return "", fmt.Errorf("parse %s/index.json: %w", layoutDir, err)
	}
	for _, desc := range index.Manifests {
		if desc.Annotations[ocispecs.AnnotationRefName] == ref || desc.Annotations["io.containerd.image.name"] == ref {
			return OCILayoutRef(store, desc.Digest), nil
		}
	}
	return "", fmt.Errorf("no image %q in OCI layout %s", ref, layoutDir)
}
