package executor_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/lkpkg/lkpkg/executor"
	"github.com/lkpkg/lkpkg/executor/ociruntime"
)

// TestMain lets the test binary serve as the container runtime, exactly as
// the lkpkg binary does.
func TestMain(m *testing.M) {
	if executor.RuntimeMain() {
		return
	}
	if req := os.Getenv(solveInChildEnv); req != "" {
		os.Exit(solveInChild(req))
	}
	os.Exit(m.Run())
}

const fixtureLayout = "../examples/busybox-oci"

func requireRoot(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the engine as root (mounts, namespaces); skipped under -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("building needs root (mounts, namespaces); run the tests as root")
	}
}

func newEngine(t *testing.T, stateDir string) *executor.Engine {
	t.Helper()
	requireRoot(t)
	if !ociruntime.SeccompSupported {
		t.Log("built without -tags seccomp: RUN steps run without a seccomp profile")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	e, err := executor.New(ctx, executor.Options{StateDir: stateDir, AllowNoSeccomp: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("engine ready in %v", time.Since(start))
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("close engine: %v", err)
		}
	})
	return e
}

// buildContext writes files (name -> content) into a fresh context dir.
func buildContext(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func hostPlatform() string { return "linux/" + runtime.GOARCH }

// fixtureRequest is a request building FROM busybox:fixture, served from the
// bundled OCI layout.
func fixtureRequest(t *testing.T, contextDir string) executor.SolveRequest {
	t.Helper()
	from, err := executor.OCILayoutContext("fixtures", fixtureLayout, "busybox:fixture")
	if err != nil {
		t.Fatal(err)
	}
	return executor.SolveRequest{
		ContextDir:     contextDir,
		Platform:       hostPlatform(),
		NamedContexts:  map[string]string{"busybox:fixture": from},
		OCIStores:      map[string]string{"fixtures": fixtureLayout},
		ProgressOutput: testWriter{t},
	}
}

// testWriter sends build progress to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func solve(t *testing.T, e *executor.Engine, req executor.SolveRequest) (*executor.SolveResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	res, err := e.Solve(ctx, req)
	t.Logf("solve took %v", time.Since(start))
	return res, err
}

func TestBuildFromOCILayoutExportsOCI(t *testing.T) {
	e := newEngine(t, t.TempDir())
	req := fixtureRequest(t, buildContext(t, map[string]string{
		"Dockerfile": "# syntax=docker/dockerfile:1\n" + // ignored: no frontend image is pulled
			"FROM busybox:fixture\n" +
			"ARG GREETING\n" +
			"RUN echo hi > /x && echo \"$GREETING\" > /arg\n" +
			"RUN grep '^Seccomp:' /proc/self/status > /seccomp && touch /touched\n" +
			"COPY hello.txt run.sh secret /\n",
		"hello.txt": "hello from the context\n",
		"run.sh":    "#!/bin/sh\n",
		"secret":    "s\n",
	}))
	chmod(t, filepath.Join(req.ContextDir, "run.sh"), 0o755)
	chmod(t, filepath.Join(req.ContextDir, "secret"), 0o600)
	req.BuildArgs = map[string]string{"GREETING": "bonjour"}
	req.Labels = map[string]string{"org.lkpkg.test": "yes"}
	req.ExportName = "example.org/test/image:1"
	req.OutputDir = filepath.Join(t.TempDir(), "layout")
	res, err := solve(t, e, req)
	if err != nil {
		t.Fatal(err)
	}
	img := readLayoutImage(t, req.OutputDir, runtime.GOARCH)
	if img.config.OS != "linux" || img.config.Architecture != runtime.GOARCH {
		t.Errorf("image platform %s/%s, want linux/%s", img.config.OS, img.config.Architecture, runtime.GOARCH)
	}
	if got := img.config.Config.Labels["org.lkpkg.test"]; got != "yes" {
		t.Errorf("label org.lkpkg.test = %q, want yes", got)
	}
	if res.ImageDigest != img.topDigest || res.Descriptor.Digest.String() != img.topDigest {
		t.Errorf("result digest %s, descriptor %s; index.json has %s", res.ImageDigest, res.Descriptor.Digest, img.topDigest)
	}
	wantSeccomp := "Seccomp:\t0\n"
	if ociruntime.SeccompSupported {
		wantSeccomp = "Seccomp:\t2\n" // filter mode: BuildKit's profile applied
	}
	for name, want := range map[string]string{
		"x": "hi\n", "arg": "bonjour\n", "hello.txt": "hello from the context\n", "seccomp": wantSeccomp,
	} {
		if got, ok := img.files[name]; !ok || got != want {
			t.Errorf("file /%s = %q (present: %v), want %q", name, got, ok, want)
		}
	}
	// Modes survive COPY exactly, and RUN steps get the usual umask 022
	// although the engine runs with umask 0.
	for name, want := range map[string]os.FileMode{"run.sh": 0o755, "secret": 0o600, "hello.txt": 0o644, "touched": 0o644} {
		if got := img.modes[name]; got != want {
			t.Errorf("mode of /%s = %v, want %v", name, got, want)
		}
	}
	checkLayoutTidy(t, req.OutputDir)
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// checkLayoutTidy checks the exported layout has no ingest/ dir and nothing
// writable by group or others, despite the engine's umask 0.
func checkLayoutTidy(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "ingest")); !os.IsNotExist(err) {
		t.Errorf("exported layout still has ingest/: %v", err)
	}
	if err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().Perm()&0o022 != 0 {
			t.Errorf("%s has mode %v", path, info.Mode())
		}
		return err
	}); err != nil {
		t.Errorf("walk exported layout: %v", err)
	}
}

type layoutImage struct {
	topDigest string
	config    ocispecs.Image
	files     map[string]string      // regular files in the layers, by path without leading /
	modes     map[string]os.FileMode // their permission bits
	layers    []string               // layer digests, base first
}

// readLayoutImage reads the single image in an OCI layout, choosing arch
// when it is an index, with the content of every file its layers add.
func readLayoutImage(t *testing.T, dir, arch string) layoutImage {
	t.Helper()
	var index ocispecs.Index
	readJSONBlob(t, filepath.Join(dir, "index.json"), &index)
	if len(index.Manifests) != 1 {
		t.Fatalf("index.json has %d descriptors, want 1", len(index.Manifests))
	}
	img := layoutImage{topDigest: index.Manifests[0].Digest.String(), files: map[string]string{}, modes: map[string]os.FileMode{}}
	desc := index.Manifests[0]
	if desc.MediaType == ocispecs.MediaTypeImageIndex {
		var nested ocispecs.Index
		readJSONBlob(t, blobPath(dir, desc), &nested)
		desc = pickPlatform(t, nested, arch)
	}
	var manifest ocispecs.Manifest
	readJSONBlob(t, blobPath(dir, desc), &manifest)
	readJSONBlob(t, blobPath(dir, manifest.Config), &img.config)
	for _, layer := range manifest.Layers {
		img.layers = append(img.layers, layer.Digest.String())
		readLayerFiles(t, blobPath(dir, layer), &img)
	}
	return img
}

func pickPlatform(t *testing.T, index ocispecs.Index, arch string) ocispecs.Descriptor {
	t.Helper()
	for _, d := range index.Manifests {
		if d.Platform != nil && d.Platform.Architecture == arch {
			return d
		}
	}
	t.Fatalf("no manifest for %s in nested index", arch)
	return ocispecs.Descriptor{}
}

func blobPath(dir string, d ocispecs.Descriptor) string {
	return filepath.Join(dir, "blobs", d.Digest.Algorithm().String(), d.Digest.Encoded())
}

func readJSONBlob(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func readLayerFiles(t *testing.T, path string, img *layoutImage) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("layer %s: %v", path, err)
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("layer %s: %v", path, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			var buf bytes.Buffer
			if _, err := io.Copy(&buf, tr); err != nil {
				t.Fatal(err)
			}
			name := strings.TrimPrefix(hdr.Name, "/")
			img.files[name], img.modes[name] = buf.String(), hdr.FileInfo().Mode().Perm()
		}
	}
}

func TestExportOCITarStream(t *testing.T) {
	e := newEngine(t, t.TempDir())
	req := fixtureRequest(t, buildContext(t, map[string]string{"Dockerfile": "FROM busybox:fixture\nRUN echo tar > /t\n"}))
	tarPath := filepath.Join(t.TempDir(), "image.tar")
	f, err := os.Create(tarPath)
	if err != nil {
		t.Fatal(err)
	}
	req.Output = f // closed by the exporter
	req.ExportName = "example.org/test/tar:1"
	if _, err := solve(t, e, req); err != nil {
		t.Fatal(err)
	}
	names := tarNames(t, tarPath)
	for _, want := range []string{"index.json", "oci-layout"} {
		if !names[want] {
			t.Errorf("exported tar has no %s; has %v", want, names)
		}
	}
}

func tarNames(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names := map[string]bool{}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names[hdr.Name] = true
	}
}

func TestOCILayoutContext(t *testing.T) {
	got, err := executor.OCILayoutContext("fixtures", fixtureLayout, "busybox:fixture")
	want := "oci-layout://fixtures@sha256:a4db15e1aaa08a6e8d3abf5fe1c4c5526848ad4cb57a9add736f5719771b0434"
	if err != nil || got != want {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
	if _, err := executor.OCILayoutContext("fixtures", fixtureLayout, "busybox:missing"); err == nil {
		t.Error("missing tag resolved")
	}
}

// TestNativeSnapshotterTarget builds a chosen stage with the native
// snapshotter (the fallback without overlayfs), twice: the second build is
// served from the build cache.
func TestNativeSnapshotterTarget(t *testing.T) {
	requireRoot(t)
	stateDir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e, err := executor.New(ctx, executor.Options{StateDir: stateDir, Snapshotter: "native", AllowNoSeccomp: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := os.Stat(filepath.Join(stateDir, "runc-native")); err != nil {
		t.Fatalf("native snapshotter not used: %v", err)
	}
	req := fixtureRequest(t, buildContext(t, map[string]string{
		"Dockerfile": "FROM busybox:fixture AS first\nRUN echo one > /one\n" +
			"FROM first\nRUN echo two > /two\n",
	}))
	req.Target = "first"
	build := func() string {
		var progress bytes.Buffer
		req.ProgressOutput = &progress
		req.OutputDir = filepath.Join(t.TempDir(), "layout")
		if _, err := e.Solve(ctx, req); err != nil {
			t.Fatal(err)
		}
		img := readLayoutImage(t, req.OutputDir, runtime.GOARCH)
		if img.files["one"] != "one\n" || img.files["two"] != "" {
			t.Errorf("target stage image has /one=%q /two=%q, want only /one", img.files["one"], img.files["two"])
		}
		return progress.String()
	}
	build()
	if progress := build(); !strings.Contains(progress, "CACHED") {
		t.Errorf("rebuild did not use the cache:\n%s", progress)
	}
}

// TestForeignAndMultiPlatformWithoutRun builds for other architectures,
// which needs no emulation while there is no RUN: the matching image of the
// multi-arch fixture must be chosen, and several platforms give an index.
func TestForeignAndMultiPlatformWithoutRun(t *testing.T) {
	e := newEngine(t, t.TempDir())
	req := fixtureRequest(t, buildContext(t, map[string]string{
		"Dockerfile": "FROM busybox:fixture\nCOPY f /f\n",
		"f":          "f\n",
	}))
	req.Platform = "linux/arm64,linux/s390x"
	req.OutputDir = filepath.Join(t.TempDir(), "layout")
	res, err := solve(t, e, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Descriptor.MediaType != ocispecs.MediaTypeImageIndex {
		t.Errorf("multi-platform export is a %s, want an index", res.Descriptor.MediaType)
	}
	fixtureLayers := map[string]string{ // per arch, from the fixture README
		"arm64": "sha256:5127ebf686f727c7188efe71b0ab8b8bef965d0db33423babbd863497560b5fd",
		"s390x": "sha256:b5010e5e1d27a1ec462de439a0a04f9003193b993782b40ed98a37994125773b",
	}
	for arch, baseLayer := range fixtureLayers {
		img := readLayoutImage(t, req.OutputDir, arch)
		if img.config.Architecture != arch || img.files["f"] != "f\n" {
			t.Errorf("%s image: config arch %q, /f %q", arch, img.config.Architecture, img.files["f"])
		}
		if img.layers[0] != baseLayer {
			t.Errorf("%s image is based on layer %s, want the fixture's %s", arch, img.layers[0], baseLayer)
		}
	}
}
