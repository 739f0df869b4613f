package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// archImageHost is a fake host for .ci/arch/image: a copy of the script and guest-init (so they can be edited), an
// os-release, a binfmt_misc with the guests' handlers, an image cache, and mmdebstrap and mkfs.ext4 that record
// their arguments and make empty outputs instead of a Debian root.
type archImageHost struct {
	dir, ci, cache, log string
}

func newArchImageHost(t *testing.T, osRelease string) *archImageHost {
	t.Helper()
	h := &archImageHost{dir: t.TempDir()}
	h.ci = filepath.Join(h.dir, "ci", "arch")
	h.cache = filepath.Join(h.dir, "cache")
	h.log = filepath.Join(h.dir, "mmdebstrap.log")
	for _, d := range []string{h.ci, filepath.Join(h.dir, "bin"), filepath.Join(h.dir, "binfmt_misc")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"image", "guest-init"} {
		b, err := os.ReadFile(filepath.Join("..", ".ci", "arch", name))
		if err != nil {
			t.Fatal(err)
		}
		h.write(t, filepath.Join("ci", "arch", name), string(b), 0o755)
	}
	h.write(t, "os-release", osRelease, 0o644)
	h.write(t, "binfmt_misc/qemu-aarch64", "enabled\n", 0o644)
	h.write(t, "binfmt_misc/qemu-s390x", "enabled\n", 0o644)
	// The fake mmdebstrap appends its arguments (one per line, then a blank line) and runs the hook that installs
	// guest-init, so a test sees which guest-init an image got.
	h.write(t, "bin/mmdebstrap", `#!/bin/bash
printf '%s\n' "$@" '' >>"$FAKE_LOG"
pos=()
for a in "$@"; do [[ $a == --* ]] || pos+=("$a"); done
root=${pos[1]}
mkdir -p "$root/usr/local/sbin"
: >"$root/../vmlinuz"; : >"$root/../initrd.img"
for a in "$@"; do
	case $a in --customize-hook=*guest-init*) sh -c "${a#--customize-hook=}" sh "$root" ;; esac
done
cp "$root/usr/local/sbin/lkpkg-guest-init" "$FAKE_LOG.guest-init"
`, 0o755)
	h.write(t, "bin/mkfs.ext4", "#!/bin/bash\n: >\"${@: -2:1}\"\n", 0o755)
	return h
}

func (h *archImageHost) write(t *testing.T, name, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(h.dir, name), []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func (h *archImageHost) cmd(args ...string) *exec.Cmd {
	cmd := exec.Command("bash", append([]string{filepath.Join(h.ci, "image")}, args...)...)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Join(h.dir, "bin")+":"+os.Getenv("PATH"),
		"LKPKG_ARCH_CACHE="+h.cache, "LKPKG_OS_RELEASE="+filepath.Join(h.dir, "os-release"),
		"LKPKG_BINFMT_MISC="+filepath.Join(h.dir, "binfmt_misc"), "FAKE_LOG="+h.log)
	return cmd
}

// image runs the script for arch and returns mmdebstrap's arguments if it made the image, nil if it reused it.
func (h *archImageHost) image(t *testing.T, arch string) []string {
	t.Helper()
	os.Remove(h.log)
	out, err := h.cmd(arch).CombinedOutput()
	if err != nil {
		t.Fatalf("image %s: %v\n%s", arch, err, out)
	}
	if !strings.HasSuffix(strings.TrimSpace(string(out)), filepath.Join(h.cache, arch)) {
		t.Fatalf("image %s printed %q, want its directory last", arch, out)
	}
	for _, f := range []string{"rootfs.img", "vmlinuz", "initrd.img", "recipe"} {
		if _, err := os.Stat(filepath.Join(h.cache, arch, f)); err != nil {
			t.Fatalf("image %s: %v", arch, err)
		}
	}
	b, err := os.ReadFile(h.log)
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n\n"), "\n")
}

// recipe is the script's stamp for arch, from its dry run.
func (h *archImageHost) recipe(t *testing.T, arch string) string {
	t.Helper()
	out, err := h.cmd("--recipe", arch).Output()
	if err != nil {
		t.Fatalf("image --recipe %s: %v", arch, err)
	}
	sum := sha256.Sum256(out)
	return hex.EncodeToString(sum[:])
}

func (h *archImageHost) edit(t *testing.T, name, appended string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(h.ci, name), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(appended); err != nil {
		t.Fatal(err)
	}
}

// positional is mmdebstrap's arguments that are not options: suite, target, mirrors.
func positional(args []string) []string {
	var pos []string
	for _, a := range args {
		if !strings.HasPrefix(a, "--") {
			pos = append(pos, a)
		}
	}
	return pos
}

// The guest image is remade exactly when what makes it changes: not for an edit of the script's comments, but for
// another guest-init or another suite; and it is Debian on every host.
func TestCIArchImageRecipe(t *testing.T) {
	h := newArchImageHost(t, debianBookworm)
	args := h.image(t, "arm64")
	if args == nil {
		t.Fatal("first run made no image")
	}
	if pos := positional(args); len(pos) != 2 || pos[0] != "bookworm" {
		t.Errorf("Debian bookworm host: mmdebstrap suite, target and mirrors %q, want bookworm and mmdebstrap's default archive", pos)
	}
	if args := h.image(t, "arm64"); args != nil {
		t.Errorf("second run made the image again: %q", args)
	}

	before := h.recipe(t, "arm64")
	h.edit(t, "image", "\n# a comment changes nothing the image is made of\n")
	if after := h.recipe(t, "arm64"); after != before {
		t.Errorf("a comment changed the recipe: %s → %s", before, after)
	}
	if args := h.image(t, "arm64"); args != nil {
		t.Errorf("a comment in the script made the image again")
	}

	h.edit(t, "guest-init", "# another guest-init\n")
	if h.image(t, "arm64") == nil {
		t.Error("a changed guest-init did not make the image again")
	}
	if got, err := os.ReadFile(h.log + ".guest-init"); err != nil || !strings.HasSuffix(string(got), "# another guest-init\n") {
		t.Errorf("the image got guest-init %q (%v), want the changed one", got, err)
	}

	// The other architecture has its own image and recipe.
	if h.image(t, "s390x") == nil {
		t.Error("no s390x image made")
	}
	if h.recipe(t, "s390x") == h.recipe(t, "arm64") {
		t.Error("arm64 and s390x have the same recipe")
	}

	// A Debian upgrade makes the guest of the new release.
	h.write(t, "os-release", strings.ReplaceAll(debianBookworm, "bookworm", "trixie"), 0o644)
	args = h.image(t, "arm64")
	if pos := positional(args); len(pos) != 2 || pos[0] != "trixie" {
		t.Errorf("Debian trixie host: mmdebstrap positional arguments %q, want trixie and no mirror", pos)
	}
}

// On Ubuntu the guest is Debian bookworm from Debian's archive, with Debian's keyring, not the host's release.
func TestCIArchImageUbuntuHost(t *testing.T) {
	h := newArchImageHost(t, ubuntuNoble)
	if _, err := os.Stat("/usr/share/keyrings/debian-archive-keyring.gpg"); err != nil {
		// The script refuses to start mmdebstrap without the keyring its sources name; that refusal is checked here.
		out, err := h.cmd("arm64").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "debian-archive-keyring.gpg missing") {
			t.Fatalf("without Debian's keyring: %v\n%s", err, out)
		}
		return
	}
	args := h.image(t, "s390x")
	want := []string{"bookworm", filepath.Join(h.cache, "s390x"),
		"deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm bookworm-updates main",
		"deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://security.debian.org/debian-security bookworm-security main"}
	pos := positional(args)
	if len(pos) != len(want) || pos[0] != want[0] || !strings.HasPrefix(pos[1], want[1]+"/.make.") || pos[2] != want[2] || pos[3] != want[3] {
		t.Errorf("Ubuntu host: mmdebstrap positional arguments\n%q\nwant\n%q", pos, want)
	}
	if !strings.Contains(strings.Join(args, "\n"), "--include=linux-image-s390x,") {
		t.Errorf("the guest is not made of Debian's packages: %q", args)
	}
	if args := h.image(t, "s390x"); args != nil {
		t.Error("second run on Ubuntu made the image again")
	}
}
