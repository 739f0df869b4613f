//go:build cgo

package ociruntime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/seccomp"
	"github.com/sirupsen/logrus"

	// Without the devices manager every container fails with "cgroup
	// manager is not configured to set device rules".
	_ "github.com/opencontainers/cgroups/devices"
	// nsenter's C constructor joins namespaces before the Go runtime starts
	// in the re-executed "init" process; it is a no-op in every other run.
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
)

// Supported reports whether this binary can run containers at all.
const Supported = true

// SeccompSupported reports whether this binary can apply seccomp profiles,
// i.e. was also built with the "seccomp" build tag.
const SeccompSupported = seccomp.Enabled

// IsInit reports whether this process is libcontainer's re-executed
// container init. The environment guard keeps a user-facing "init"
// subcommand from ever being mistaken for it.
func IsInit() bool {
	return len(os.Args) > 1 && os.Args[1] == "init" && os.Getenv("_LIBCONTAINER_INITPIPE") != ""
}

// Init runs libcontainer's container init; it never returns.
func Init() {
	libcontainer.Init()
}

// globals are the runtime-wide flags that precede the subcommand.
type globals struct {
	root      string // container state directory
	logPath   string
	logFormat string
}

// Main runs the runtime command line (args excludes the program name) with
// defaultRoot as the state directory unless --root is given, and returns the
// process exit status.
func Main(args []string, defaultRoot string) int {
	g, rest, err := parseGlobals(args, defaultRoot)
	if err == nil {
		err = setupLogging(g)
	}
	if err != nil {
		return fail(err)
	}
	if len(rest) == 0 {
		return fail(errors.New("missing command; supported: run, exec, state, kill, delete"))
	}
	cmd, cmdArgs := rest[0], rest[1:]
	switch cmd {
	case "run":
		return exitOrFail(runCommand(g, cmdArgs))
	case "exec":
		return exitOrFail(execCommand(g, cmdArgs))
	case "state":
		return exitOrFail(0, stateCommand(g, cmdArgs, os.Stdout))
	case "kill":
		return exitOrFail(0, killCommand(g, cmdArgs))
	case "delete":
		return exitOrFail(0, deleteCommand(g, cmdArgs))
	}
	return fail(fmt.Errorf("command %q is not supported by lkpkg's built-in runtime; supported: run, exec, state, kill, delete", cmd))
}

func parseGlobals(args []string, defaultRoot string) (globals, []string, error) {
	g := globals{root: defaultRoot, logFormat: "text"}
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		name, value, hasValue := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
		args = args[1:]
		takeValue := func() (string, error) {
			if hasValue {
				return value, nil
			}
			if len(args) == 0 {
				return "", fmt.Errorf("flag --%s needs a value", name)
			}
			v := args[0]
			args = args[1:]
			return v, nil
		}
		var err error
		switch name {
		case "root":
			g.root, err = takeValue()
		case "log":
			g.logPath, err = takeValue()
		case "log-format":
			g.logFormat, err = takeValue()
		case "debug":
		default:
			err = fmt.Errorf("global flag --%s is not supported by lkpkg's built-in runtime", name)
		}
		if err != nil {
			return g, nil, err
		}
	}
	if g.root == "" {
		return g, nil, errors.New("no state directory: pass --root")
	}
	// Absolute, because run changes into the bundle directory.
	var err error
	if g.root, err = filepath.Abs(g.root); err == nil && g.logPath != "" {
		g.logPath, err = filepath.Abs(g.logPath)
	}
	return g, args, err
}

// setupLogging mirrors runc: log records (including those forwarded from
// container init) go to --log in the requested format.
func setupLogging(g globals) error {
	logrus.SetLevel(logrus.WarnLevel)
	if g.logFormat == "json" {
		logrus.SetFormatter(new(logrus.JSONFormatter))
	}
	if g.logPath == "" {
		logrus.SetOutput(os.Stderr)
		return nil
	}
	f, err := os.OpenFile(g.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC, 0o644)
	if err != nil {
		return fmt.Errorf("open runtime log: %w", err)
	}
	logrus.SetOutput(f)
	return nil
}

func exitOrFail(status int, err error) int {
	if err != nil {
		return fail(err)
	}
	return status
}

// fail reports err both in the log (where BuildKit looks) and on stderr
// (which BuildKit shows as the step's output) and returns runc's status 1.
func fail(err error) int {
	logrus.Error(err)
	if logrus.StandardLogger().Out != io.Writer(os.Stderr) {
		fmt.Fprintln(os.Stderr, "lkpkg runtime:", err)
	}
	return 1
}
