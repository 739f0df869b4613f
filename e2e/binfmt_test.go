package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The registration lines of Debian 12's qemu-user-static for the architectures the tests build.
var qemuConf = map[string]string{
	"x86_64":  `:qemu-x86_64:M::\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00:\xff\xff\xff\xff\xff\xfe\xfe\xfc\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/libexec/qemu-binfmt/x86_64-binfmt-P:OPF`,
	"aarch64": `:qemu-aarch64:M::\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/libexec/qemu-binfmt/aarch64-binfmt-P:OPF`,
	"s390x":   `:qemu-s390x:M::\x7f\x45\x4c\x46\x02\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x16:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff:/usr/libexec/qemu-binfmt/s390x-binfmt-P:OPF`,
	"riscv64": `:qemu-riscv64:M::\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xf3\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/libexec/qemu-binfmt/riscv64-binfmt-P:OPF`,
}

// binfmtRun is one run of .ci/binfmt against fake trees: a binfmt_misc directory whose register file collects
// what the script writes, and a binfmt.d directory as qemu-user-static installs it on one host architecture.
type binfmtRun struct {
	host       string   // uname -m
	shipped    []string // architectures with a binfmt.d file
	registered []string // handlers already in binfmt_misc
	check      bool     // --check
}

func (r binfmtRun) run(t *testing.T) (register, stderr string, code int) {
	t.Helper()
	misc, confd := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(misc, "register"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, arch := range r.registered {
		if err := os.WriteFile(filepath.Join(misc, "qemu-"+arch), []byte("enabled\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Other architectures' files, as the package ships them, which the script must leave alone.
	shipped := append([]string{"ppc64le", "mips64el"}, r.shipped...)
	for _, arch := range shipped {
		line, ok := qemuConf[arch]
		if !ok {
			line = ":qemu-" + arch + ":M::\\x7fELF:\\xff\\xff\\xff\\xff:/usr/libexec/qemu-binfmt/" + arch + "-binfmt-P:OPF"
		}
		conf := "# /usr/lib/binfmt.d/qemu-" + arch + ".conf: systemd-binfmt configuration\n" + line + "\n"
		if err := os.WriteFile(filepath.Join(confd, "qemu-"+arch+".conf"), []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"../.ci/binfmt"}
	if r.check {
		args = append(args, "--check")
	}
	cmd := exec.Command("bash", args...)
	cmd.Env = append(os.Environ(), "LKPKG_BINFMT_MISC="+misc, "LKPKG_BINFMT_D="+confd, "LKPKG_HOST_ARCH="+r.host)
	var errb strings.Builder
	cmd.Stderr = &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(filepath.Join(misc, "register"))
	if err != nil {
		t.Fatal(err)
	}
	return string(out), errb.String(), code
}

// lines is what registering arches writes, one registration line each, in the script's order.
func lines(arches ...string) string {
	var b strings.Builder
	for _, arch := range arches {
		b.WriteString(qemuConf[arch] + "\n")
	}
	return b.String()
}

// .ci/binfmt registers every architecture the tests build but the host's own, from the files qemu-user-static
// ships on that host (Debian's ships none for the host's own architecture).
func TestCIBinfmt(t *testing.T) {
	for _, tc := range []struct {
		name     string
		run      binfmtRun
		register string
		code     int
		stderr   []string
	}{
		{"amd64 host", binfmtRun{host: "x86_64", shipped: []string{"aarch64", "s390x", "riscv64"}},
			lines("aarch64", "s390x", "riscv64"), 0, []string{"registered qemu-aarch64", "registered qemu-riscv64"}},
		{"arm64 host", binfmtRun{host: "aarch64", shipped: []string{"x86_64", "s390x", "riscv64"}},
			lines("x86_64", "s390x", "riscv64"), 0, []string{"registered qemu-x86_64"}},
		{"s390x host", binfmtRun{host: "s390x", shipped: []string{"x86_64", "aarch64", "riscv64"}},
			lines("x86_64", "aarch64", "riscv64"), 0, []string{"registered qemu-x86_64", "registered qemu-aarch64"}},
		{"arm64 host, some registered", binfmtRun{host: "aarch64", shipped: []string{"x86_64", "s390x", "riscv64"},
			registered: []string{"x86_64", "riscv64"}}, lines("s390x"), 0, []string{"registered qemu-s390x"}},
		{"all registered", binfmtRun{host: "s390x", registered: []string{"x86_64", "aarch64", "riscv64"}}, "", 0, nil},
		{"qemu-user-static missing", binfmtRun{host: "aarch64"}, "", 1,
			[]string{"qemu-x86_64.conf", "qemu-s390x.conf", "qemu-riscv64.conf", "apt-get install qemu-user-static"}},
		{"one file missing registers nothing", binfmtRun{host: "x86_64", shipped: []string{"aarch64", "s390x"}}, "", 1,
			[]string{"qemu-riscv64.conf missing"}},
		{"check, all registered", binfmtRun{host: "aarch64", registered: []string{"x86_64", "s390x", "riscv64"}, check: true},
			"", 0, nil},
		{"check, one missing", binfmtRun{host: "aarch64", shipped: []string{"x86_64", "s390x", "riscv64"},
			registered: []string{"x86_64", "riscv64"}, check: true}, "", 1, []string{"no QEMU handler registered for: s390x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			register, stderr, code := tc.run.run(t)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, stderr)
			}
			if register != tc.register {
				t.Errorf("registered:\n%s\nwant:\n%s", register, tc.register)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
		})
	}
}
