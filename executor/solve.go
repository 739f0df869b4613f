package executor

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/solver/pb"
	spb "github.com/moby/buildkit/sourcepolicy/pb"
	"github.com/moby/buildkit/util/entitlements"
	"github.com/moby/buildkit/util/progress/progressui"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/tonistiigi/fsutil"
)

// SolveRequest is one Dockerfile build: plain data, so that callers can
// build and test it without running anything.
type SolveRequest struct {
	// ContextDir is the build context, sent to BuildKit from disk.
	ContextDir string
	// ExtraSources are more host directories shown inside the context.
	ExtraSources []ContextMount
	// Dockerfile is the Dockerfile's path relative to ContextDir
	// (default "Dockerfile").
	Dockerfile string
	// Target is the Dockerfile stage to build (default: the last).
	Target string
	// Platform is the target, e.g. "linux/amd64" (default: the host's); a
	// comma-separated list builds several and exports an index.
	Platform string
	// BuildArgs and Labels become ARG values and image labels.
	BuildArgs map[string]string
	Labels    map[string]string
	// Network is NetworkNone (also when empty) or NetworkHost.
	Network NetworkMode
	// NoCache rebuilds every step instead of reusing cached results.
	NoCache bool
	// SourceDateEpoch, when set, makes the image reproducible: it is the
	// SOURCE_DATE_EPOCH build arg (image and history times) and every layer's
	// file timestamps newer than it are clamped to it.
	SourceDateEpoch time.Time
	// SBOMGenerator is the scanner image BuildKit runs on each platform's
	// result to attach an SPDX SBOM attestation (attest:sbom); "" attaches
	// none.
	SBOMGenerator string
	// FromCache maps images the build would pull (docker-image sources, the
	// SBOM scanner among them; "docker.io/…" names with their tag) to OCI
	// stores' images ("<store>@<digest>", a store of OCIStores), through a
	// source policy: BuildKit reads them from the store, never a registry.
	FromCache map[string]string
	// NamedContexts replaces images or stages named in the Dockerfile by
	// BuildKit context specs: "docker-image://REF", or
	// "oci-layout://STORE@DIGEST" (see OCILayoutContext) for a FROM served
	// from an OCI layout listed in OCIStores.
	NamedContexts map[string]string
	// OCIStores names OCI layout directories that named contexts refer to.
	OCIStores map[string]string
	// ExportName is the image name recorded by the OCI exporter.
	ExportName string
	// OutputDir receives the image as an OCI layout directory, Output as an
	// OCI layout tar stream (closed when written), or OutputStore as blobs
	// (those it lacks), with no index written: the result's descriptor is
	// SolveResult.Descriptor. None: build only.
	OutputDir   string
	Output      io.WriteCloser
	OutputStore content.Store
	// Attachables are extra session services for the build, such as
	// registry credentials (authprovider) or secrets (secretsprovider).
	Attachables []session.Attachable
	// ProgressOutput receives build progress in ProgressMode (default
	// plain); nil shows none.
	ProgressOutput io.Writer
	ProgressMode   progressui.DisplayMode
}

// SolveResult describes what a solve exported.
type SolveResult struct {
	// ImageDigest is the digest of the exported manifest or index.
	ImageDigest string
	// Descriptor describes the exported manifest or index (zero without an
	// export).
	Descriptor ocispecs.Descriptor
	// ExporterResponse is BuildKit's full exporter response.
	ExporterResponse map[string]string
}

func newSolveResult(resp *client.SolveResponse) (*SolveResult, error) {
	res := &SolveResult{
		ImageDigest:      resp.ExporterResponse[exptypes.ExporterImageDigestKey],
		ExporterResponse: resp.ExporterResponse,
	}
	if encoded, ok := resp.ExporterResponse[exptypes.ExporterImageDescriptorKey]; ok {
		data, err := base64.StdEncoding.DecodeString(encoded)
		if err == nil {
			err = json.Unmarshal(data, &res.Descriptor)
		}
		if err != nil {
			return nil, fmt.Errorf("decode exported image descriptor: %w", err)
		}
	}
	return res, nil
}

// Solve runs one build to completion. Cancelling ctx stops it and kills its
// RUN steps.
func (e *Engine) Solve(ctx context.Context, req SolveRequest) (*SolveResult, error) {
	network, opt, err := req.networkAndSolveOpt()
	if err != nil {
		return nil, err
	}
	release, err := e.netGate.acquire(ctx, network)
	if err != nil {
		return nil, err
	}
	defer release()
	preloaded := e.preload(ctx, req, opt.OCIStores)
	defer preloaded()
	resp, err := solveWithProgress(ctx, e.client, opt, req)
	if err != nil {
		if hint := singleIDHint(); hint != "" && ctx.Err() == nil {
			return nil, fmt.Errorf("%w\n%s", err, hint)
		}
		return nil, err
	}
	if req.OutputDir != "" {
		if err := tidyLayoutDir(req.OutputDir); err != nil {
			return nil, err
		}
	}
	return newSolveResult(resp)
}

func solveWithProgress(ctx context.Context, c *client.Client, opt client.SolveOpt, req SolveRequest) (*client.SolveResponse, error) {
	status := make(chan *client.SolveStatus)
	shown := make(chan error, 1)
	go func() { shown <- showProgress(req.ProgressOutput, req.ProgressMode, status) }()
	resp, err := c.Solve(ctx, nil, opt, status) // closes status
	if perr := <-shown; err == nil && perr != nil {
		err = fmt.Errorf("show build progress: %w", perr)
	}
	return resp, err
}

func showProgress(out io.Writer, mode progressui.DisplayMode, status chan *client.SolveStatus) error {
	if out == nil {
		for range status {
		}
		return nil
	}
	if mode == "" {
		mode = progressui.PlainMode
	}
	display, err := progressui.NewDisplay(out, mode)
	if err != nil {
		for range status {
		}
		return err
	}
	// Not cancelled with the solve: the client closes status when done.
	_, err = display.UpdateFrom(context.Background(), status)
	return err
}

// networkAndSolveOpt checks the request's network mode and translates the request into BuildKit's solve options.
func (req SolveRequest) networkAndSolveOpt() (NetworkMode, client.SolveOpt, error) {
	network, err := parseNetworkMode(string(req.Network))
	if err != nil {
		return "", client.SolveOpt{}, err
	}
	opt, err := req.solveOpt(network)
	return network, opt, err
}

// solveOpt translates the request into BuildKit's solve options.
func (req SolveRequest) solveOpt(network NetworkMode) (client.SolveOpt, error) {
	if req.ContextDir == "" {
		return client.SolveOpt{}, errors.New("solve request has no context dir")
	}
	dockerfile := req.Dockerfile
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	mounts, err := localMounts(req.ContextDir, req.ExtraSources, filepath.Dir(filepath.Join(req.ContextDir, dockerfile)))
	if err != nil {
		return client.SolveOpt{}, err
	}
	stores, err := ociStores(req.OCIStores)
	if err != nil {
		return client.SolveOpt{}, err
	}
	exports, err := req.exports()
	if err != nil {
		return client.SolveOpt{}, err
	}
	opt := client.SolveOpt{
		Frontend:      "dockerfile.v0",
		FrontendAttrs: req.frontendAttrs(filepath.Base(dockerfile), network),
		LocalMounts:   mounts,
		OCIStores:     stores,
		Exports:       exports,
		Session:       req.Attachables,
		SourcePolicy:  req.sourcePolicy(),
	}
	if network == NetworkHost {
		opt.AllowedEntitlements = []string{string(entitlements.EntitlementNetworkHost)}
	}
	return opt, nil
}

// sourcePolicy turns FromCache into BuildKit's source policy rules; nil when there are none.
func (req SolveRequest) sourcePolicy() *spb.Policy {
	if len(req.FromCache) == 0 {
		return nil
	}
	names := slices.Sorted(maps.Keys(req.FromCache))
	pol := &spb.Policy{Version: 1}
	for _, name := range names {
		// As BuildKit's Dockerfile frontend spells a named context's oci-layout source: the store's name as an
		// image name, the store in an attribute.
		store, dgst, _ := strings.Cut(req.FromCache[name], "@")
		id := store
		if named, err := reference.ParseNormalizedNamed(store); err == nil {
			id = named.Name()
		}
		pol.Rules = append(pol.Rules, &spb.Rule{
			Action:   spb.PolicyAction_CONVERT,
			Selector: &spb.Selector{Identifier: "docker-image://" + name, MatchType: spb.MatchType_EXACT},
			Updates: &spb.Update{Identifier: "oci-layout://" + id + "@" + dgst,
				Attrs: map[string]string{pb.AttrOCILayoutStoreID: store}},
		})
	}
	return pol
}

// frontendAttrs are the Dockerfile frontend's options. For builds without
// network, force-network-mode=none also changes every RUN's cache key, so
// results cached by a networked build are never reused offline.
func (req SolveRequest) frontendAttrs(dockerfileName string, network NetworkMode) map[string]string {
	attrs := map[string]string{
		"filename": dockerfileName,
		// Any "cmdline" makes the Dockerfile frontend ignore "# syntax=" and
		// BUILDKIT_SYNTAX, which would pull and run a frontend image; the
		// built-in frontend builds every Dockerfile instead.
		"cmdline": "",
	}
	if req.Target != "" {
		attrs["target"] = req.Target
	}
	if req.Platform != "" {
		attrs["platform"] = req.Platform
	}
	if network == NetworkNone {
		attrs["force-network-mode"] = "none"
	}
	if req.NoCache {
		attrs["no-cache"] = "" // empty means every stage
	}
	if !req.SourceDateEpoch.IsZero() {
		attrs["build-arg:SOURCE_DATE_EPOCH"] = strconv.FormatInt(req.SourceDateEpoch.Unix(), 10)
	}
	for k, v := range req.BuildArgs {
		attrs["build-arg:"+k] = v
	}
	for k, v := range req.Labels {
		attrs["label:"+k] = v
	}
	for name, ref := range req.NamedContexts {
		attrs["context:"+name] = ref
	}
	if req.SBOMGenerator != "" {
		attrs["attest:sbom"] = "generator=" + req.SBOMGenerator
	}
	return attrs
}

func localMounts(contextDir string, extra []ContextMount, dockerfileDir string) (map[string]fsutil.FS, error) {
	contextFS, err := contextFS(contextDir, extra)
	if err != nil {
		return nil, err
	}
	dockerfileFS, err := fsutil.NewFS(dockerfileDir)
	if err != nil {
		return nil, fmt.Errorf("dockerfile dir %s: %w", dockerfileDir, err)
	}
	return map[string]fsutil.FS{"context": contextFS, "dockerfile": dockerfileFS}, nil
}

func ociStores(dirs map[string]string) (map[string]content.Store, error) {
	stores := map[string]content.Store{}
	for name, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
			return nil, fmt.Errorf("OCI store %q: %s is not an OCI layout: %w", name, dir, err)
		}
		store, err := local.NewStore(dir)
		if err != nil {
			return nil, fmt.Errorf("OCI store %q: %w", name, err)
		}
		stores[name] = store
	}
	return stores, nil
}

func (req SolveRequest) exports() ([]client.ExportEntry, error) {
	attrs := map[string]string{}
	if req.ExportName != "" {
		attrs["name"] = req.ExportName
	}
	if !req.SourceDateEpoch.IsZero() {
		attrs["rewrite-timestamp"] = "true"
	}
	outputs := 0
	for _, set := range []bool{req.OutputDir != "", req.Output != nil, req.OutputStore != nil} {
		if set {
			outputs++
		}
	}
	switch {
	case outputs > 1:
		return nil, errors.New("solve request sets more than one of OutputDir, Output and OutputStore; choose one")
	case req.OutputStore != nil:
		attrs["tar"] = "false"
		return []client.ExportEntry{{Type: client.ExporterOCI, Attrs: attrs, OutputStore: req.OutputStore}}, nil
	case req.OutputDir != "":
		attrs["tar"] = "false"
		return []client.ExportEntry{{Type: client.ExporterOCI, Attrs: attrs, OutputDir: req.OutputDir}}, nil
	case req.Output != nil:
		out := req.Output
		return []client.ExportEntry{{Type: client.ExporterOCI, Attrs: attrs,
			Output: func(map[string]string) (io.WriteCloser, error) { return out, nil }}}, nil
	}
	return nil, nil
}

// tidyLayoutDir undoes side effects of the engine's zero umask on an
// exported layout: BuildKit leaves an empty, world-writable ingest/ dir, and
// nothing in the layout should be writable by others.
func tidyLayoutDir(dir string) error {
	_ = os.Remove(filepath.Join(dir, "ingest"))
	return filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if mode := info.Mode(); mode.Perm()&0o022 != 0 && mode.Type()&os.ModeSymlink == 0 {
			return os.Chmod(path, mode.Perm()&^0o022)
		}
		return nil
	})
}
