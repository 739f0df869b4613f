package e2e

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// A rootless build with --store lands in the user's own containers-storage (~/.local/share/containers/storage),
// where the user's podman lists and runs it.
func TestRootlessStore(t *testing.T) {
	u := newRootlessUser(t, true)
	u.pkg("pkg/st", "image: st\narches: ["+runtime.GOARCH+"]\n", "FROM busybox:fixture\nRUN echo stored > /file\n")
	u.mustLkpkg("cache", "import", u.fixture)
	// podman before 4.4 (Debian 12 has 4.3) makes a new rootless store vfs unless storage.conf names a driver;
	// lkpkg's newer containers-storage picks overlay: users of such a podman name the driver, as here.
	u.do("mkdir", "-p", filepath.Join(u.home, ".config", "containers"))
	storageConf := filepath.Join(u.home, ".config", "containers", "storage.conf")
	writeFile(t, storageConf, "[storage]\ndriver = \"overlay\"\n")
	if err := os.Chown(storageConf, u.uid, u.gid); err != nil {
		t.Fatal(err)
	}
	u.mustLkpkg("pkg", "build", "--store", "pkg/st")
	tag := strings.TrimSpace(u.mustLkpkg("pkg", "show-tag", "pkg/st").stdout)
	if _, err := os.Stat(filepath.Join(u.home, ".local", "share", "containers", "storage")); err != nil {
		t.Fatalf("no store in the user's home: %v", err)
	}
	conf := filepath.Join(u.home, "containers.conf")
	writeFile(t, conf, "[containers]\ndefault_ulimits = []\n[engine]\nruntime = \"runc\"\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"none\"\n")
	if err := os.Chown(conf, u.uid, u.gid); err != nil {
		t.Fatal(err)
	}
	podman := func(args ...string) string {
		t.Helper()
		cmd := u.command("podman", args...)
		cmd.Env = append(cmd.Env, "CONTAINERS_CONF="+conf, "XDG_RUNTIME_DIR="+filepath.Join(u.home, ".run"))
		// Only stdout is compared: podman warns on stderr about the host (e.g. "/" not a shared mount in CI
		// containers), which says nothing about the store.
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("podman %v as %s: %v\n%s%s", args, u.name, err, out, stderr.String())
		}
		return string(out)
	}
	if out := podman("info", "--format", "{{.Store.GraphDriverName}} {{.Store.GraphRoot}}"); out != "overlay "+filepath.Join(u.home, ".local/share/containers/storage")+"\n" {
		t.Errorf("the user's podman uses %q", out)
	}
	if out := podman("image", "ls", "--format", "{{.Repository}}:{{.Tag}}"); !strings.Contains(out, "docker.io/"+tag) {
		t.Fatalf("the user's podman does not list %s:\n%s", tag, out)
	}
	if out := podman("run", "--rm", "--network", "none", "docker.io/"+tag, "cat", "/file"); out != "stored\n" {
		t.Errorf("podman run printed %q", out)
	}
}
