package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// crossSourcesRun is one run of .ci/cross-sources against a fake host: its os-release, its dpkg architecture and an
// apt sources directory.
type crossSourcesRun struct {
	osRelease string // the os-release file's text
	hostArch  string // dpkg --print-architecture
}

func (r crossSourcesRun) run(t *testing.T, sources string) (stderr string) {
	t.Helper()
	osRelease := filepath.Join(t.TempDir(), "os-release")
	if err := os.WriteFile(osRelease, []byte(r.osRelease), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "../.ci/cross-sources", "amd64", "arm64", "s390x")
	cmd.Env = append(os.Environ(), "LKPKG_OS_RELEASE="+osRelease, "LKPKG_DPKG_ARCH="+r.hostArch, "LKPKG_APT_SOURCES="+sources)
	var errb strings.Builder
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("cross-sources: %v\n%s", err, errb.String())
	}
	return errb.String()
}

const (
	debianBookworm = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n"
	ubuntuNoble    = "PRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"24.04\"\nVERSION_CODENAME=noble\nID=ubuntu\nID_LIKE=debian\nUBUNTU_CODENAME=noble\n"
	ubuntuJammy    = "NAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\nVERSION_CODENAME=jammy\nID=ubuntu\nID_LIKE=debian\nUBUNTU_CODENAME=jammy\n"
)

// ubuntuStanza is one deb822 entry as an Ubuntu host's lkpkg-cross.sources must hold it.
func ubuntuStanza(uri, suites, arches string) string {
	return "Types: deb\nURIs: " + uri + "\nSuites: " + suites + "\nComponents: main universe\nArchitectures: " + arches +
		"\nSigned-By: /usr/share/keyrings/ubuntu-archive-keyring.gpg\n"
}

// .ci/cross-sources gives an Ubuntu host apt entries for the foreign architectures make release needs, each from the
// half of Ubuntu's archive that carries it; on Debian, whose archive carries them all, it writes nothing.
func TestCICrossSources(t *testing.T) {
	const header = "# Written by lkpkg's .ci/cross-sources: the Ubuntu archive of each foreign architecture make release links with.\n\n"
	for _, tc := range []struct {
		name string
		run  crossSourcesRun
		want string // lkpkg-cross.sources; "" for no file
	}{
		{"debian amd64", crossSourcesRun{debianBookworm, "amd64"}, ""},
		{"debian arm64", crossSourcesRun{debianBookworm, "arm64"}, ""},
		{"ubuntu amd64", crossSourcesRun{ubuntuNoble, "amd64"}, header +
			ubuntuStanza("http://ports.ubuntu.com/ubuntu-ports", "noble noble-updates noble-security", "arm64 s390x")},
		{"ubuntu arm64", crossSourcesRun{ubuntuNoble, "arm64"}, header +
			ubuntuStanza("http://archive.ubuntu.com/ubuntu", "noble noble-updates", "amd64") + "\n" +
			ubuntuStanza("http://security.ubuntu.com/ubuntu", "noble-security", "amd64") + "\n" +
			ubuntuStanza("http://ports.ubuntu.com/ubuntu-ports", "noble noble-updates noble-security", "s390x")},
		{"ubuntu s390x", crossSourcesRun{ubuntuJammy, "s390x"}, header +
			ubuntuStanza("http://archive.ubuntu.com/ubuntu", "jammy jammy-updates", "amd64") + "\n" +
			ubuntuStanza("http://security.ubuntu.com/ubuntu", "jammy-security", "amd64") + "\n" +
			ubuntuStanza("http://ports.ubuntu.com/ubuntu-ports", "jammy jammy-updates jammy-security", "arm64")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sources := t.TempDir()
			stderr := tc.run.run(t, sources)
			entries, err := os.ReadDir(sources)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if len(entries) != 0 || stderr != "" {
					t.Fatalf("wrote %v on %s (stderr %q), want nothing", entries, tc.name, stderr)
				}
				return
			}
			if len(entries) != 1 || entries[0].Name() != "lkpkg-cross.sources" {
				t.Fatalf("sources directory holds %v, want lkpkg-cross.sources", entries)
			}
			got, err := os.ReadFile(filepath.Join(sources, "lkpkg-cross.sources"))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("lkpkg-cross.sources:\n%s\nwant:\n%s", got, tc.want)
			}
			if !strings.Contains(stderr, "wrote ") {
				t.Errorf("stderr does not say what it wrote: %q", stderr)
			}
		})
	}
}

// A second run on the same host leaves the file as it is (no write, so nothing asks for an apt update); a file of
// another release is written again.
func TestCICrossSourcesIdempotent(t *testing.T) {
	sources := t.TempDir()
	file := filepath.Join(sources, "lkpkg-cross.sources")
	r := crossSourcesRun{ubuntuNoble, "arm64"}
	r.run(t, sources)
	first, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(file, old, old); err != nil {
		t.Fatal(err)
	}
	if stderr := r.run(t, sources); stderr != "" {
		t.Errorf("second run said %q, want nothing", stderr)
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.ModTime().Equal(old) {
		t.Errorf("second run rewrote %s (modified %s)", file, fi.ModTime())
	}
	if second, _ := os.ReadFile(file); string(second) != string(first) {
		t.Errorf("second run changed the file:\n%s", second)
	}

	// The host upgraded to another release: its suites are written.
	r.osRelease = ubuntuJammy
	if stderr := r.run(t, sources); !strings.Contains(stderr, "wrote ") {
		t.Errorf("run on another release said %q, want that it wrote the file", stderr)
	}
	if third, _ := os.ReadFile(file); !strings.Contains(string(third), "Suites: jammy jammy-updates jammy-security") ||
		strings.Contains(string(third), "noble") {
		t.Errorf("after the release changed:\n%s", third)
	}
}
