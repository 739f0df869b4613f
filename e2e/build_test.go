package e2e

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lkpkg/lkpkg/frontend/gittest"
)

// buildEnv is a package repository, a linuxkit cache holding the bundled busybox:fixture base image, and an
// engine state directory.
type buildEnv struct {
	t     testing.TB
	repo  *gittest.Repo
	cache string
	state string
}

// fixtureTar is the bundled base image as a tar, made once.
var fixtureTar string

func newBuildEnv(t testing.TB) *buildEnv {
	t.Helper()
	e := &buildEnv{t: t, repo: gittest.New(t), cache: filepath.Join(t.TempDir(), "cache"), state: sharedState}
	e.importFixture(e.cache)
	return e
}

func (e *buildEnv) importFixture(cache string) {
	e.t.Helper()
	if fixtureTar == "" {
		fixtureTar = filepath.Join(sharedState, "busybox-oci.tar")
		if out, err := exec.Command("tar", "-C", "../examples/busybox-oci", "-cf", fixtureTar, ".").CombinedOutput(); err != nil {
			e.t.Fatalf("tar: %v %s", err, out)
		}
	}
	mustLkpkg(e.t, e.repo.Dir, nil, "--cache", cache, "cache", "import", fixtureTar)
}

// pkg writes a package (build.yml and Dockerfile plus extra files) and commits the repository.
func (e *buildEnv) pkg(dir, buildYML, dockerfile string, files ...string) {
	e.t.Helper()
	e.repo.Write(dir+"/build.yml", buildYML)
	e.repo.Write(dir+"/Dockerfile", dockerfile)
	for i := 0; i+1 < len(files); i += 2 {
		e.repo.Write(dir+"/"+files[i], files[i+1])
	}
	e.repo.Commit()
}

// build runs `lkpkg pkg build` with the env's cache and state dir.
func (e *buildEnv) build(env []string, args ...string) result {
	e.t.Helper()
	full := append([]string{"--cache", e.cache, "pkg", "build", "--state-dir", e.state, "--progress", "plain"}, args...)
	return lkpkg(e.t, e.repo.Dir, env, full...)
}

func (e *buildEnv) mustBuild(env []string, args ...string) result {
	e.t.Helper()
	r := e.build(env, args...)
	if r.code != 0 {
		e.t.Fatalf("build %v: exit %d\n%s", args, r.code, tail(r.stderr, 40))
	}
	return r
}

func (e *buildEnv) tag(dir string) string {
	e.t.Helper()
	return strings.TrimSpace(mustLkpkg(e.t, e.repo.Dir, nil, "pkg", "show-tag", "--canonical", dir))
}

// file reads one file of the image built for arch, through `cache export --format filesystem`.
func (e *buildEnv) file(ref, arch, path string) string {
	e.t.Helper()
	tarFile := filepath.Join(e.t.TempDir(), "fs.tar")
	mustLkpkg(e.t, e.repo.Dir, nil, "--cache", e.cache, "cache", "export", "--platform", "linux/"+arch,
		"--format", "filesystem", "--outfile", tarFile, ref)
	out, err := exec.Command("tar", "-xOf", tarFile, strings.TrimPrefix(path, "/")).CombinedOutput()
	if err != nil {
		e.t.Fatalf("%s has no %s for %s: %v %s", ref, path, arch, err, out)
	}
	return string(out)
}

// skopeoJSON runs skopeo inspect on an entry of the cache and decodes its JSON output.
func (e *buildEnv) skopeoJSON(v any, args ...string) {
	e.t.Helper()
	out, err := exec.Command("skopeo", append([]string{"inspect"}, args...)...).Output()
	if err != nil {
		e.t.Fatalf("skopeo inspect %v: %v", args, err)
	}
	if err := json.Unmarshal(out, v); err != nil {
		e.t.Fatalf("skopeo output %s: %v", out, err)
	}
}

// rawDigest is the digest of the manifest or index stored under name.
func (e *buildEnv) rawDigest(name string) string {
	e.t.Helper()
	out, err := exec.Command("skopeo", "inspect", "--raw", e.ociRef(name)).Output()
	if err != nil {
		e.t.Fatalf("skopeo inspect --raw %s: %v", name, err)
	}
	return fmt.Sprintf("sha256:%x", sha256.Sum256(out))
}

func (e *buildEnv) ociRef(name string) string { return "oci:" + e.cache + ":" + name }

// manifestDigest is the digest of the image manifest of ref for arch in the cache.
func (e *buildEnv) manifestDigest(ref, arch string) string {
	e.t.Helper()
	var idx struct {
		Manifests []struct {
			Digest   string
			Platform *struct{ Architecture string }
		}
	}
	e.skopeoJSON(&idx, "--raw", e.ociRef(ref))
	for _, m := range idx.Manifests {
		if m.Platform != nil && m.Platform.Architecture == arch {
			return m.Digest
		}
	}
	e.t.Fatalf("%s has no %s manifest", ref, arch)
	return ""
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// loopbackListener accepts connections on 127.0.0.1 and answers each with a line, for network policy tests.
func loopbackListener(t *testing.T) int {
	t.Helper()
	return replyingListener(t, "tcp", "127.0.0.1:0", "HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nreach\n")
}

// replyingListener listens on addr and answers every connection with reply until the test ends; it returns the
// port.
func replyingListener(t *testing.T, network, addr, reply string) int {
	t.Helper()
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprint(c, reply)
			c.Close()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

const multiStage = `FROM busybox:fixture AS build
RUN mkdir -p /out/etc && uname -m > /out/etc/arch
FROM scratch
COPY --from=build /out/ /
COPY greeting /etc/greeting
`

func TestBuildMultiArchMultiStage(t *testing.T) {
	e := newBuildEnv(t)
	e.pkg("pkg/hello", "image: hello\narches: [amd64, arm64, s390x]\nconfig:\n  net: host\n  binds: [\"/a:/b<c>\"]\n",
		multiStage, "greeting", "hi\n")
	r := e.mustBuild(nil, "pkg/hello")
	tag := e.tag("pkg/hello")
	checkOCILayout(t, e.cache)
	if strings.TrimSpace(r.stdout) != strings.TrimPrefix(tag, "docker.io/") {
		t.Errorf("stdout %q, want the tag", r.stdout)
	}
	for arch, uname := range map[string]string{"amd64": "x86_64", "arm64": "aarch64", "s390x": "s390x"} {
		if got := strings.TrimSpace(e.file(tag, arch, "etc/arch")); got != uname {
			t.Errorf("%s: uname -m = %q, want %q", arch, got, uname)
		}
		if got := e.file(tag, arch, "etc/greeting"); got != "hi\n" {
			t.Errorf("%s: greeting %q", arch, got)
		}
		// The per-arch entry is the very manifest the index lists for that arch.
		if got, want := e.rawDigest(tag+"-"+arch), e.manifestDigest(tag, arch); got != want {
			t.Errorf("%s-%s is %s, the index lists %s", tag, arch, got, want)
		}
	}
	var cfg struct {
		Config struct{ Labels map[string]string }
	}
	e.skopeoJSON(&cfg, "--config", e.ociRef(tag+"-amd64"))
	labels := cfg.Config.Labels
	if want := `{"binds":["/a:/b\u003cc\u003e"],"net":"host"}`; labels["org.mobyproject.config"] != want {
		t.Errorf("config label %q, want %q", labels["org.mobyproject.config"], want)
	}
	if labels["org.opencontainers.image.revision"] != e.repo.Git("rev-parse", "HEAD") {
		t.Errorf("revision label %q", labels["org.opencontainers.image.revision"])
	}
	// index.json holds named entries only: BuildKit's own index of the multi-platform export lends its children
	// to the package's index and is not kept as an unnamed root (which no `cache rm` could ever reach).
	data, err := os.ReadFile(filepath.Join(e.cache, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Manifests []struct {
			Digest      string
			Annotations map[string]string
		}
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatal(err)
	}
	for _, m := range idx.Manifests {
		if m.Annotations["org.opencontainers.image.ref.name"] == "" {
			t.Errorf("index.json has an unnamed entry %s", m.Digest)
		}
	}
}

func TestBuildSkipWhenCachedAndForce(t *testing.T) {
	e := newBuildEnv(t)
	e.pkg("pkg/a", "image: a\narches: [amd64]\n", "FROM busybox:fixture\nRUN echo built > /built\n")
	e.mustBuild(nil, "pkg/a")
	tag := e.tag("pkg/a")
	first := e.manifestDigest(tag, "amd64")
	gitEnv, gitLog := gitRecorder(t)
	r := e.mustBuild(gitEnv, "pkg/a")
	if !strings.Contains(r.stderr, "is in the cache; not building") || strings.Contains(r.stderr, "RUN echo") {
		t.Fatalf("second build did not skip:\n%s", r.stderr)
	}
	// A cached package is not built, so nothing asks git for its history (GOPKGVERSION, SOURCE_DATE_EPOCH).
	if calls := gitLog(); !strings.Contains(calls, "rev-parse") || strings.Contains(calls, "describe") || strings.Contains(calls, " log ") {
		t.Errorf("the cached re-run ran these git commands; want the tree hash's only:\n%s", calls)
	}
	r = e.mustBuild(gitEnv, "--force", "pkg/a")
	if !strings.Contains(r.stderr, "Building") {
		t.Fatalf("--force did not build:\n%s", r.stderr)
	}
	if calls := gitLog(); !strings.Contains(calls, "describe") || !strings.Contains(calls, " log ") {
		t.Errorf("the forced build did not ask git for the history its build args need:\n%s", calls)
	}
	if again := e.manifestDigest(tag, "amd64"); again != first {
		t.Errorf("a forced rebuild of the same tree changed the manifest: %s → %s", first, again)
	}
}

// gitRecorder puts a git in front of PATH that logs its arguments, one call a line, before running the real one;
// the function returned reads the calls logged since it last did.
func gitRecorder(t *testing.T) (env []string, calls func() string) {
	t.Helper()
	real, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	logFile := filepath.Join(dir, "calls")
	script := fmt.Sprintf("#!/bin/sh\necho \"$*\" >> %q\nexec %q \"$@\"\n", logFile, real)
	if err := os.WriteFile(filepath.Join(dir, "git"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return []string{"PATH=" + dir + ":" + os.Getenv("PATH")}, func() string {
		data, _ := os.ReadFile(logFile)
		os.Remove(logFile)
		return string(data)
	}
}

func TestBuildNetworkPolicy(t *testing.T) {
	port := loopbackListener(t)
	dockerfile := fmt.Sprintf("FROM busybox:fixture\nRUN wget -q -O /reached http://127.0.0.1:%d/ && cat /reached\n", port)
	e := newBuildEnv(t)
	e.pkg("pkg/off", "image: off\narches: [amd64]\n", dockerfile)
	e.pkg("pkg/on", "image: on\narches: [amd64]\nnetwork: true\n", dockerfile)

	if r := e.build(nil, "pkg/off"); r.code == 0 {
		t.Fatalf("network: false (the default) reached a host listener:\n%s", tail(r.stderr, 20))
	}
	r := e.mustBuild(nil, "pkg/on")
	if !strings.Contains(r.stderr, "reach") {
		t.Errorf("network: true build did not print what it fetched:\n%s", tail(r.stderr, 20))
	}
	// The CLI overrides build.yml both ways.
	if r := e.build(nil, "--nonetwork", "--force", "pkg/on"); r.code == 0 {
		t.Error("--nonetwork did not cut the network of a network: true package")
	}
	e.mustBuild(nil, "--network", "--force", "pkg/off")
}

func TestBuildDisableCache(t *testing.T) {
	e := newBuildEnv(t)
	df := "FROM busybox:fixture\nRUN cat /proc/sys/kernel/random/uuid > /stamp\n"
	e.pkg("pkg/cached", "image: cached\narches: [amd64]\n", df)
	e.pkg("pkg/nocache", "image: nocache\narches: [amd64]\ndisable-cache: true\n", df)
	for dir, wantSame := range map[string]bool{"pkg/cached": true, "pkg/nocache": false} {
		tag := e.tag(dir)
		e.mustBuild(nil, dir)
		first := e.file(tag, "amd64", "stamp")
		e.mustBuild(nil, "--force", dir)
		second := e.file(tag, "amd64", "stamp")
		if (first == second) != wantSame {
			t.Errorf("%s: RUN output %q then %q; same=%v, want same=%v", dir, first, second, first == second, wantSame)
		}
	}
}

func TestBuildArgsProxyAndReferences(t *testing.T) {
	e := newBuildEnv(t)
	e.pkg("pkg/dep", "image: dep\narches: [amd64]\n", "FROM scratch\n")
	e.repo.Write("args.txt", "FROM_FILE=file\nBOTH=file\n")
	e.pkg("pkg/args", `image: args
arches: [amd64]
buildArgs:
  - FROM_YML=yml
  - BOTH=yml
  - DEP=@lkt:pkg:../dep
`, `FROM busybox:fixture
ARG FROM_YML
ARG FROM_FILE
ARG BOTH
ARG DEP
ARG PKG_HASH
ARG PKG_IMAGE
ARG GOPKGVERSION
ARG http_proxy
RUN printf '%s\n' "$FROM_YML" "$FROM_FILE" "$BOTH" "$DEP" "$PKG_HASH" "$PKG_IMAGE" "$GOPKGVERSION" "$http_proxy" > /args
`)
	e.mustBuild([]string{"http_proxy=http://proxy.invalid:3128"}, "--build-arg-file", "args.txt", "pkg/args")
	got := strings.Split(strings.TrimSpace(e.file(e.tag("pkg/args"), "amd64", "args")), "\n")
	depTag := strings.TrimPrefix(e.tag("pkg/dep"), "docker.io/")
	hash := e.repo.LsTree("pkg/args")
	want := []string{"yml", "file", "file", depTag, hash, "linuxkit/args", "", "http://proxy.invalid:3128"}
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if i == 6 {
			if !strings.HasPrefix(got[i], "v0.0.0-") {
				t.Errorf("GOPKGVERSION %q is not a pseudo-version", got[i])
			}
			continue
		}
		if got[i] != want[i] {
			t.Errorf("arg %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestBuildChained(t *testing.T) {
	e := newBuildEnv(t)
	e.pkg("pkg/base", "image: chain-base\narches: [amd64, arm64]\n", "FROM busybox:fixture\nRUN uname -m > /base-arch\n")
	base := strings.TrimPrefix(e.tag("pkg/base"), "docker.io/")
	e.pkg("pkg/top", "image: chain-top\narches: [amd64, arm64]\n",
		"ARG BASE="+base+"\nFROM ${BASE}\nRUN cat /base-arch > /seen && uname -m >> /seen\n")
	// One invocation, dependent first: lkpkg builds packages concurrently but waits for a package's base.
	r := e.mustBuild(nil, "pkg/top", "pkg/base")
	checkOCILayout(t, e.cache)
	if got := strings.Fields(r.stdout); len(got) != 2 || !strings.Contains(got[0], "chain-top") {
		t.Errorf("tags must print in the order given: %q", got)
	}
	for arch, uname := range map[string]string{"amd64": "x86_64", "arm64": "aarch64"} {
		if got := e.file(e.tag("pkg/top"), arch, "seen"); got != uname+"\n"+uname+"\n" {
			t.Errorf("%s: %q", arch, got)
		}
	}
}

func TestBuildExtraSourcesAndDockerignore(t *testing.T) {
	e := newBuildEnv(t)
	e.repo.Write("lib/version.txt", "1.2.3\n")
	e.pkg("pkg/x", "image: x\narches: [amd64]\nextra-sources:\n  - ../../lib:vendor/lib\n",
		"FROM busybox:fixture\nCOPY . /ctx\nRUN ls -R /ctx > /listing\n",
		".dockerignore", "secret.txt\n", "secret.txt", "no\n", "keep.txt", "yes\n")
	e.mustBuild(nil, "pkg/x")
	tag := e.tag("pkg/x")
	if got := e.file(tag, "amd64", "ctx/vendor/lib/version.txt"); got != "1.2.3\n" {
		t.Errorf("extra source content %q", got)
	}
	listing := e.file(tag, "amd64", "listing")
	if strings.Contains(listing, "secret.txt") || !strings.Contains(listing, "keep.txt") {
		t.Errorf(".dockerignore not honoured:\n%s", listing)
	}
}

// Absolute destinations of extra sources are paths inside the build context, as in linuxkit: /common is the
// directory common of the context, and / lays the source over the package directory's own files.
func TestBuildExtraSourcesAbsoluteDestinations(t *testing.T) {
	e := newBuildEnv(t)
	e.repo.Write("common/common.mk", "CFLAGS=-O2\n")
	e.repo.Write("src/main.c", "int main(void) { return 0; }\n")
	e.repo.Write("src/shared.txt", "from the extra source\n")
	e.pkg("pkg/abs", "image: abs\narches: [amd64]\nextra-sources:\n  - ../../common:/common\n",
		"FROM busybox:fixture\nCOPY /common/common.mk /out/common.mk\nCOPY common/ /out/again/\n")
	e.pkg("pkg/root", "image: root\narches: [amd64]\nextra-sources:\n  - ../../src:/\n",
		"FROM busybox:fixture\nCOPY main.c own.txt shared.txt /out/\n",
		"own.txt", "the package's own\n", "shared.txt", "the package's copy\n")
	e.mustBuild(nil, "pkg/abs", "pkg/root")
	abs, root := e.tag("pkg/abs"), e.tag("pkg/root")
	for _, tc := range []struct{ ref, path, want string }{
		{abs, "out/common.mk", "CFLAGS=-O2\n"},
		{abs, "out/again/common.mk", "CFLAGS=-O2\n"},
		{root, "out/main.c", "int main(void) { return 0; }\n"},
		{root, "out/own.txt", "the package's own\n"},
		// linuxkit's context tar holds the extra source after the package, so its file wins.
		{root, "out/shared.txt", "from the extra source\n"},
	} {
		if got := e.file(tc.ref, "amd64", tc.path); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.ref, tc.path, got, tc.want)
		}
	}
}

func TestBuildErrors(t *testing.T) {
	e := newBuildEnv(t)
	e.pkg("pkg/bad", "image: bad\narches: [amd64]\n", "FROM busybox:fixture\nRUN true\nFROBNICATE now\n")
	e.pkg("pkg/nobase", "image: nobase\narches: [amd64]\n", "FROM 127.0.0.1:1/none/such:image\nRUN true\n")
	e.pkg("pkg/syntax", "image: syntax\narches: [amd64]\n", "# syntax=docker/dockerfile:1\nFROM busybox:fixture\n")
	e.pkg("pkg/fails", "image: fails\narches: [amd64]\n", "FROM busybox:fixture\nRUN echo about to fail && false\n")
	e.pkg("pkg/nodf", "image: nodf\narches: [amd64]\ndockerfile: Dockerfile.missing\n", "FROM scratch\n")
	e.pkg("pkg/nosrc", "image: nosrc\narches: [amd64]\n", "FROM busybox:fixture\nRUN true\nCOPY not-there /x\nRUN true\n")
	before := mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "ls")
	for _, tc := range []struct {
		dir  string
		args []string
		want string
	}{
		{"pkg/bad", nil, "pkg/bad/Dockerfile:3: unknown instruction: FROBNICATE"},
		{"pkg/nobase", nil, "127.0.0.1:1/none/such:image"},
		{"pkg/syntax", nil, "`# syntax=docker/dockerfile:1` would load a Dockerfile frontend image"},
		{"pkg/fails", nil, "did not complete successfully"},
		// A failure in a step points at its line, with the lines around it, as `docker build` shows them.
		{"pkg/fails", nil, "pkg/fails/Dockerfile:2: building"},
		{"pkg/fails", nil, "   2 | >>> RUN echo about to fail && false\n"},
		{"pkg/nosrc", []string{"--progress", "quiet"}, "pkg/nosrc/Dockerfile:3: building"},
		{"pkg/nosrc", []string{"--progress", "quiet"}, "   3 | >>> COPY not-there /x\n"},
		{"pkg/nodf", nil, `dockerfile "Dockerfile.missing": no such file`},
		{"pkg/bad", []string{"--dockerfile", "../nobase/Dockerfile"}, "must be a relative path inside the package directory"},
		{"pkg/bad", []string{"--platforms", "linux/amd64", "--skip-platforms", "linux/arm64"}, "cannot be combined"},
		{"pkg/bad", []string{"--hash-commit", "HEAD~1"}, "only HEAD is allowed"},
		{"pkg/bad", []string{"--nobuild"}, "--nobuild only makes sense with --push"},
		{"pkg/bad", []string{"--progress", "bogus"}, "use auto, plain, tty, quiet or rawjson"},
		{"pkg/bad", []string{"--progress", "tty"}, "--progress tty needs a terminal"},
	} {
		r := e.build(nil, append(tc.args, tc.dir)...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s %v: exit %d, want an error mentioning %q:\n%s", tc.dir, tc.args, r.code, tc.want, tail(r.stderr, 15))
		}
	}
	if after := mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "ls"); after != before {
		t.Errorf("failed builds changed the cache:\nbefore %s\nafter %s", before, after)
	}
}

// Bad input is refused before anything is built, naming the file and field (or flag) at fault, in lkpkg's own
// words, and never echoing a build-arg file's line, which may hold a secret.
func TestBuildBadInputBeforeBuilding(t *testing.T) {
	e := newBuildEnv(t)
	const secret = "TOKEN-hunter2-s3cr3t"
	e.pkg("pkg/ok", "image: ok\narches: [amd64]\n", "FROM busybox:fixture\nRUN false\n")
	e.pkg("pkg/org", "image: org\norg: Foo\narches: [amd64]\n", "FROM busybox:fixture\n")
	e.pkg("pkg/image", "image: a:b\narches: [amd64]\n", "FROM busybox:fixture\n")
	e.pkg("pkg/uid", "image: uid\narches: [amd64]\nconfig:\n  uid: {1: 2}\n", "FROM busybox:fixture\n")
	e.pkg("pkg/gids", "image: gids\narches: [amd64]\nconfig:\n  additionalGids: [[1]]\n", "FROM busybox:fixture\n")
	e.repo.Write("bad-args.txt", "A=1\n# fine\n"+secret+"\n")
	e.repo.Write("long-args.txt", "CERT="+strings.Repeat("c", 100<<10)+"\n")
	before := mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "ls")
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"org", nil, []string{"pkg/org"}, "pkg/org/build.yml:2: org: \"Foo\" is not a valid org: repository names must be lowercase"},
		{"image", nil, []string{"pkg/image"}, "pkg/image/build.yml:1: image: \"a:b\" is not a valid image name: it carries a tag or digest"},
		{"--org", nil, []string{"--org", "Foo", "pkg/ok"}, `--org "Foo" is not a valid org`},
		{"LINUXKIT_PKG_ORG", []string{"LINUXKIT_PKG_ORG=Foo"}, []string{"pkg/ok"}, `LINUXKIT_PKG_ORG "Foo" is not a valid org`},
		{"config uid", nil, []string{"pkg/uid"}, "pkg/uid/build.yml:4: config.uid: expected a number or a name, got a mapping"},
		{"config additionalGids", nil, []string{"pkg/gids"}, "pkg/gids/build.yml:4: config.additionalGids[0]: expected a number or a name, got a list"},
		{"build-arg-file line", nil, []string{"--build-arg-file", "bad-args.txt", "pkg/ok"}, "--build-arg-file bad-args.txt:3: the line is not KEY=VALUE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.build(tc.env, tc.args...)
			if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, want an error mentioning %q:\n%s", r.code, tc.want, tail(r.stderr, 15))
			}
			for _, raw := range []string{secret, "invalid reference format", "json:", "interface {}", "token too long"} {
				if strings.Contains(r.stderr, raw) {
					t.Errorf("stderr holds %q:\n%s", raw, tail(r.stderr, 15))
				}
			}
		})
	}
	// A line of 100 KiB is read (bufio.Scanner's default limit is 64 KiB); --dry-run shows it reached the build.
	r := e.mustBuild(nil, "--dry-run", "--build-arg-file", "long-args.txt", "pkg/ok")
	if !strings.Contains(r.stderr, "--build-arg=CERT="+strings.Repeat("c", 100<<10)) {
		t.Errorf("the long build arg is missing from the dry run (%d bytes of stderr)", len(r.stderr))
	}
	if after := mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "ls"); after != before {
		t.Errorf("refused builds changed the cache:\nbefore %s\nafter %s", before, after)
	}
}

func TestBuildWithoutRuncOnPath(t *testing.T) {
	e := newBuildEnv(t)
	e.pkg("pkg/r", "image: r\narches: [amd64]\n", "FROM busybox:fixture\nRUN echo ran > /ran\n")
	bin := t.TempDir()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(gitPath, filepath.Join(bin, "git")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"runc", "crun"} {
		if _, err := exec.LookPath(filepath.Join(bin, name)); err == nil {
			t.Fatalf("%s must not be reachable", name)
		}
	}
	e.mustBuild([]string{"PATH=" + bin}, "pkg/r")
	if got := e.file(e.tag("pkg/r"), "amd64", "ran"); got != "ran\n" {
		t.Fatalf("got %q", got)
	}
}

func TestBuildReproducible(t *testing.T) {
	e := newBuildEnv(t)
	e.pkg("pkg/repro", "image: repro\narches: [amd64, arm64]\n", multiStage, "greeting", "same\n")
	tag := e.tag("pkg/repro")
	var digests [2][2]string
	for i := range digests {
		e.state = t.TempDir() // a fresh engine state each time: no BuildKit cache to reuse
		e.mustBuild(nil, "--force", "pkg/repro")
		digests[i] = [2]string{e.manifestDigest(tag, "amd64"), e.manifestDigest(tag, "arm64")}
	}
	if digests[0] != digests[1] {
		t.Fatalf("two clean builds differ: %v vs %v", digests[0], digests[1])
	}
}

func TestBuildEmptyArchesSkips(t *testing.T) {
	e := newBuildEnv(t)
	e.pkg("pkg/none", "image: none\narches:\n", "FROM scratch\n")
	r := e.mustBuild(nil, "pkg/none")
	if !strings.Contains(r.stderr, "with no architectures to build") {
		t.Fatalf("stderr %q", r.stderr)
	}
}

func TestBuildKilledLeavesUsableCache(t *testing.T) {
	e := newBuildEnv(t)
	e.state = t.TempDir()
	e.pkg("pkg/slow", "image: slow\narches: [amd64, arm64]\n",
		"FROM busybox:fixture\nRUN echo step-\"started\" && sleep 3 && echo done > /done\n")
	cmd, _ := e.startBuildUntil("step-started", "pkg/slow")
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	// The cache is still a valid layout with exactly what it had, and a new build completes.
	var idx struct{ Manifests []json.RawMessage }
	e.skopeoJSON(&idx, "--raw", e.ociRef("busybox:fixture"))
	if ls := mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "ls"); strings.Contains(ls, "slow") {
		t.Fatalf("a killed build left an entry:\n%s", ls)
	}
	e.mustBuild(nil, "pkg/slow")
	if got := e.file(e.tag("pkg/slow"), "arm64", "done"); got != "done\n" {
		t.Fatalf("rebuild after kill: %q", got)
	}
}

func TestBuildConcurrentIntoOneCache(t *testing.T) {
	e := newBuildEnv(t)
	e.pkg("pkg/one", "image: one\narches: [amd64]\n", "FROM busybox:fixture\nRUN sleep 1 && echo 1 > /n\n")
	e.pkg("pkg/two", "image: two\narches: [amd64]\n", "FROM busybox:fixture\nRUN sleep 1 && echo 2 > /n\n")
	states := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	var wg sync.WaitGroup
	results := make([]result, 3)
	// Two builds with their own engine state and one sharing the first's state dir (it waits for the lock).
	for i, dir := range []string{"pkg/one", "pkg/two", "pkg/two"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			state := states[i]
			if i == 2 {
				state = states[0]
			}
			results[i] = lkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "pkg", "build", "--state-dir", state, "--force", dir)
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.code != 0 {
			t.Fatalf("build %d failed:\n%s", i, tail(r.stderr, 20))
		}
	}
	for dir, want := range map[string]string{"pkg/one": "1\n", "pkg/two": "2\n"} {
		if got := e.file(e.tag(dir), "amd64", "n"); got != want {
			t.Errorf("%s: %q", dir, got)
		}
	}
}

// startBuildUntil starts `pkg build dir` in the background and returns once its output contains marker: what a RUN
// step prints, spelled differently in its command line (echo step-"started"), which the progress shows before the
// step's container exists.
func (e *buildEnv) startBuildUntil(marker, dir string) (*exec.Cmd, *lockedBuffer) {
	e.t.Helper()
	cmd := exec.Command(lkpkgBin, "--cache", e.cache, "pkg", "build", "--state-dir", e.state, "--progress", "plain", dir)
	cmd.Dir, cmd.Env = e.repo.Dir, testEnv()
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	waitFor(e.t, func() bool { return strings.Contains(out.String(), marker) }, 60*time.Second)
	return cmd, out
}

// lockedBuffer collects a child's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func waitFor(t testing.TB, cond func() bool, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// colonFree links file under a name without ':', which skopeo's docker-archive:<path>[:<ref>] syntax cannot take;
// linuxkit's depends archives are named <name>@sha256:<hex>.tar.
func colonFree(t *testing.T, file string) string {
	t.Helper()
	link := filepath.Join(t.TempDir(), "archive.tar")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	return link
}

const fixtureIndex = "sha256:a4db15e1aaa08a6e8d3abf5fe1c4c5526848ad4cb57a9add736f5719771b0434"

func TestBuildDependsDockerImages(t *testing.T) {
	e := newBuildEnv(t)
	e.repo.Write(".gitignore", "deps/\nall.tar\n")
	e.pkg("pkg/dir", "image: dir\narches: [amd64, arm64]\ndepends:\n  docker-images:\n    target-dir: deps\n    list:\n      - busybox:fixture@"+fixtureIndex+"\n",
		"FROM busybox:fixture\nCOPY deps /deps\nRUN ls /deps > /deplist && tar -tf /deps/*.tar > /members\n",
		"deps/stale.tar", "left over from an earlier build")
	e.pkg("pkg/one", "image: one\narches: [s390x]\ndepends:\n  docker-images:\n    target: all.tar\n    list:\n      - busybox@"+fixtureIndex+"\n",
		"FROM busybox:fixture\nCOPY all.tar /all.tar\n")
	e.mustBuild(nil, "pkg/dir", "pkg/one")

	want := "busybox@" + fixtureIndex + ".tar"
	tarFile := e.repo.Path("pkg/dir/deps/" + want)
	var inspect struct {
		Architecture string
		RepoTags     []string
	}
	e.skopeoJSON(&inspect, "docker-archive:"+colonFree(t, tarFile))
	if inspect.Architecture != "arm64" { // the last platform built leaves its archive behind
		t.Errorf("archive architecture %q, want arm64", inspect.Architecture)
	}
	if _, err := os.Stat(e.repo.Path("pkg/dir/deps/stale.tar")); !os.IsNotExist(err) {
		t.Errorf("a stale target-dir was not replaced: %v", err)
	}
	tag := e.tag("pkg/dir")
	for _, arch := range []string{"amd64", "arm64"} {
		if got := strings.TrimSpace(e.file(tag, arch, "deplist")); got != want {
			t.Errorf("%s build saw deps %q, want %q", arch, got, want)
		}
		if members := e.file(tag, arch, "members"); !strings.Contains(members, "manifest.json") {
			t.Errorf("%s: archive members %q lack manifest.json", arch, members)
		}
	}
	e.skopeoJSON(&inspect, "docker-archive:"+e.repo.Path("pkg/one/all.tar"))
	if inspect.Architecture != "s390x" {
		t.Errorf("target archive architecture %q, want s390x", inspect.Architecture)
	}
}

// depends targets inside directories that do not exist yet: the directories are made.
func TestBuildDependsTargetsInNewDirectories(t *testing.T) {
	e := newBuildEnv(t)
	e.repo.Write(".gitignore", "out/\n")
	pinned := "busybox:fixture@" + fixtureIndex
	e.pkg("pkg/t", "image: t\narches: [amd64]\ndepends:\n  docker-images:\n    target: out/deps/all.tar\n    list: [\""+pinned+"\"]\n",
		"FROM busybox:fixture\nCOPY out/deps/all.tar /all.tar\n")
	e.pkg("pkg/d", "image: d\narches: [amd64]\ndepends:\n  docker-images:\n    target-dir: out/a/b\n    list: [\""+pinned+"\"]\n",
		"FROM busybox:fixture\nCOPY out/a/b /deps\nRUN ls /deps > /deplist\n")
	e.mustBuild(nil, "pkg/t", "pkg/d")
	var inspect struct{ Architecture string }
	e.skopeoJSON(&inspect, "docker-archive:"+e.repo.Path("pkg/t/out/deps/all.tar"))
	if inspect.Architecture != "amd64" {
		t.Errorf("target archive architecture %q, want amd64", inspect.Architecture)
	}
	if got := strings.TrimSpace(e.file(e.tag("pkg/d"), "amd64", "deplist")); got != "busybox@"+fixtureIndex+".tar" {
		t.Errorf("target-dir build saw %q", got)
	}
	if got := e.file(e.tag("pkg/t"), "amd64", "all.tar"); !strings.Contains(got, "manifest.json") {
		t.Error("the target archive did not reach the image")
	}
}

func TestBuildDependsMissingImage(t *testing.T) {
	e := newBuildEnv(t)
	missing := "sha256:" + strings.Repeat("0", 64)
	e.pkg("pkg/m", "image: m\narches: [amd64]\ndepends:\n  docker-images:\n    target-dir: deps\n    list: [\"127.0.0.1:1/nothere@"+missing+"\"]\n",
		"FROM busybox:fixture\n")
	r := e.build(nil, "pkg/m")
	if r.code == 0 || !strings.Contains(r.stderr, "nothere@"+missing) || !strings.Contains(r.stderr, "neither in the linuxkit cache nor obtainable from its registry") {
		t.Fatalf("exit %d:\n%s", r.code, tail(r.stderr, 10))
	}
}

func TestBuildDryRun(t *testing.T) {
	e := newBuildEnv(t)
	e.pkg("pkg/dry", "image: dry\narches: [amd64, arm64]\nbuildArgs: [A=b]\n", "FROM busybox:fixture\nRUN false\n")
	before := mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "ls")
	r := e.mustBuild(nil, "--dry-run", "pkg/dry")
	tag := e.tag("pkg/dry")
	for _, arch := range []string{"amd64", "arm64"} {
		want := "docker buildx build --platform linux/" + arch + " -t " + tag + "-" + arch + " -f " + e.repo.Path("pkg/dry/Dockerfile") + " --build-arg=A=b "
		if !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "--network=none "+e.repo.Path("pkg/dry")) {
			t.Errorf("dry run lacks %q:\n%s", want, r.stderr)
		}
	}
	if after := mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "ls"); after != before {
		t.Error("a dry run changed the cache")
	}
}

func TestBuildInterrupted(t *testing.T) {
	e := newBuildEnv(t)
	e.pkg("pkg/int", "image: int\narches: [amd64]\n", "FROM busybox:fixture\nRUN echo step-\"started\" && sleep 60\n")
	cmd, out := e.startBuildUntil("step-started", "pkg/int")
	start := time.Now()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130:\n%s", err, tail(out.String(), 10))
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("stopping took %v: the RUN step was not killed", d)
	}
	if ls := mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "ls"); strings.Contains(ls, "/int:") {
		t.Errorf("an interrupted build left an entry:\n%s", ls)
	}
}

// An architecture whose QEMU handler is not registered fails before anything is built or written, with the
// message that says what to install and register.
func TestBuildForeignArchWithoutEmulator(t *testing.T) {
	arch, qemu := "", ""
	for _, c := range [][2]string{{"ppc64le", "ppc64le"}, {"mips64le", "mips64el"}, {"loong64", "loongarch64"}} {
		if _, err := os.Stat("/proc/sys/fs/binfmt_misc/qemu-" + c[1]); os.IsNotExist(err) {
			arch, qemu = c[0], c[1]
			break
		}
	}
	if arch == "" {
		t.Skip("every candidate architecture has a binfmt handler here; .ci/binfmt registers only x86_64, aarch64, s390x and riscv64")
	}
	e := newBuildEnv(t)
	e.pkg("pkg/noemu", "image: noemu\narches: [amd64, "+arch+"]\n", "FROM busybox:fixture\nRUN uname -m > /arch\n")
	r := e.build(nil, "--progress", "plain", "pkg/noemu")
	if r.code == 0 {
		t.Fatalf("built for %s without a handler", arch)
	}
	for _, want := range []string{"cannot build for linux/" + arch, "no binfmt_misc handler for " + qemu, "qemu-user-static", "/usr/lib/binfmt.d/qemu-" + qemu + ".conf"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the error lacks %q:\n%s", want, tail(r.stderr, 5))
		}
	}
	if strings.Contains(r.stderr, "#1 ") {
		t.Errorf("BuildKit started before the check:\n%s", tail(r.stderr, 10))
	}
	if ls := mustLkpkg(t, e.repo.Dir, nil, "--cache", e.cache, "cache", "ls"); strings.Contains(ls, "/noemu:") {
		t.Errorf("a failed build left an entry:\n%s", ls)
	}
}

// A build killed mid-RUN (SIGKILL: lkpkg can clean up nothing itself) leaves, once its watchdog has run and with
// no later lkpkg run on the state dir, no mount under the state dir, no cgroup of its containers and a state dir
// that `rm -rf` removes.
func TestBuildKilledLeavesNoMountNoCgroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: cgroups and overlay mounts are root's")
	}
	e := newBuildEnv(t)
	state, err := os.MkdirTemp("", "lkpkg-killed-state")
	if err != nil {
		t.Fatal(err)
	}
	if e.state, err = filepath.EvalSymlinks(state); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(state) })
	e.pkg("pkg/killed", "image: killed\narches: [amd64, arm64]\n",
		"FROM busybox:fixture\nRUN --mount=type=cache,target=/c echo step-\"started\" && sleep 600\n")
	cmd, out := e.startBuildUntil("step-started", "pkg/killed")
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	containers := filepath.Join(e.state, "runtime", "containers")
	var ids []string
	waitFor(t, func() bool { ids = dirNames(containers); return len(ids) > 0 }, 30*time.Second)
	if len(mountsUnder(t, e.state)) == 0 || len(cgroupDirs(t, ids)) == 0 {
		t.Fatalf("a running RUN step has no mount under %s or no cgroup (%v): the test tests nothing", e.state, ids)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	// The watchdog notices lkpkg's end at once; what it removes takes it a moment.
	var mounts, cgroups []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		mounts, cgroups = mountsUnder(t, e.state), cgroupDirs(t, ids)
		if len(mounts)+len(cgroups) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30 s after lkpkg was killed, still mounted: %v; cgroups left: %v; container states left: %v\n%s",
				mounts, cgroups, dirNames(containers), tail(out.String(), 5))
		}
	}
	if err := os.RemoveAll(e.state); err != nil {
		t.Fatalf("rm -rf of the state dir of a killed build: %v", err)
	}
}

// dirNames lists dir's entries; none when it does not exist.
func dirNames(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// mountsUnder lists this mount namespace's mount points below dir.
func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	raw, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			out = append(out, f[4])
		}
	}
	return out
}

// cgroupDirs lists the cgroup directories, in every hierarchy (v1 and the unified one), of the containers ids:
// those named <id> under a directory named buildkit.
func cgroupDirs(t *testing.T, ids []string) []string {
	t.Helper()
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var out []string
	_ = filepath.WalkDir("/sys/fs/cgroup", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if want[d.Name()] && filepath.Base(filepath.Dir(p)) == "buildkit" {
			out = append(out, p)
			return filepath.SkipDir
		}
		return nil
	})
	return out
}
