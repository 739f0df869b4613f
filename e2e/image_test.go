package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lkpkg/lkpkg/frontend/gittest"
)

// TestCIImage runs `make image` (a static lkpkg, git and CA certificates on a Debian made by mmdebstrap, built by
// lkpkg into a linuxkit cache), then builds the example packages, every architecture, in a container of that
// image under podman with its default security, into a cache on the host.
func TestCIImage(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mmdebstrap and podman run as root here")
	}
	if _, err := exec.LookPath("podman"); err != nil {
		t.Skip("podman is not installed (.ci/deps --test installs it)")
	}
	// podman refuses a runroot longer than 50 characters, and names an image pulled from an OCI layout after its
	// path, which must then be lowercase: t.TempDir's are neither.
	dir, err := os.MkdirTemp("", "lkpkg-img")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	imageCache := filepath.Join(dir, "cache")
	cmd := exec.Command("make", "-C", "..", "image")
	cmd.Env = append(testEnv(), "LINUXKIT_CACHE="+imageCache)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("make image: %v\n%s\n%s", err, tail(stdout.String(), 20), tail(stderr.String(), 40))
	}
	tag := regexp.MustCompile(`(?m)^lkpkg/lkpkg:[0-9a-f]{40}$`).FindString(stdout.String())
	if tag == "" {
		t.Fatalf("make image printed no lkpkg/lkpkg tag:\n%s", tail(stdout.String(), 20))
	}
	checkOCILayout(t, imageCache)

	conf := filepath.Join(dir, "containers.conf")
	writeFile(t, conf, podmanConf)
	podman := func(args ...string) (string, string, error) {
		cmd := exec.Command("podman", append([]string{"--root", filepath.Join(dir, "root"), "--runroot",
			filepath.Join(dir, "run"), "--tmpdir", filepath.Join(dir, "tmp")}, args...)...)
		cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+conf)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	t.Cleanup(func() { _, _, _ = podman("rmi", "--all", "--force") }) // best effort: the store is a temp dir
	id, errOut, err := podman("pull", "-q", "oci:"+imageCache+":docker.io/"+tag)
	if err != nil {
		t.Fatalf("podman pull the image from the cache: %v\n%s", err, errOut)
	}

	repo := gittest.New(t)
	for _, ex := range []string{"hello", "svc"} {
		if out, err := exec.Command("cp", "-r", "../examples/"+ex, repo.Dir).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v %s", err, out)
		}
	}
	repo.Git("add", "-A")
	repo.Git("commit", "-q", "-m", "examples")
	cache := filepath.Join(t.TempDir(), "cache")
	if err := os.Mkdir(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	fixture, err := filepath.Abs("../examples/busybox-oci")
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, err := podman("run", "--rm", "-v", repo.Dir+":/src", "-v", fixture+":/busybox-oci:ro", "-v", cache+":/cache",
		"-w", "/src", "-e", "LINUXKIT_CACHE=/cache",
		"-e", "GIT_CONFIG_COUNT=1", "-e", "GIT_CONFIG_KEY_0=safe.directory", "-e", "GIT_CONFIG_VALUE_0=*",
		strings.TrimSpace(id), "sh", "-c",
		"tar -C /busybox-oci -cf - . | lkpkg cache import - >/dev/null && lkpkg pkg build --progress plain hello svc")
	if err != nil {
		t.Fatalf("building the examples in the image: %v\n%s", err, tail(errOut, 40))
	}
	if !strings.Contains(errOut, "lkpkg: sandbox: RUN steps run in a user namespace") {
		t.Errorf("no line saying how RUN steps are isolated:\n%s", tail(errOut, 40))
	}
	checkOCILayout(t, cache)
	e := &buildEnv{t: t, repo: repo, cache: cache}
	for arch, uname := range map[string]string{"amd64": "x86_64", "arm64": "aarch64", "s390x": "s390x"} {
		if got := e.file(e.tag("hello"), arch, "etc/hello"); got != "hello from "+uname+"\n" {
			t.Errorf("hello for %s says %q", arch, got)
		}
	}
	if !strings.Contains(out, "lkpkg-examples/svc:") {
		t.Errorf("no svc tag printed: %q", out)
	}
}
