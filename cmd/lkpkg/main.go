// Command lkpkg builds LinuxKit packages without a Docker daemon. Its commands and flags mirror `linuxkit pkg`
// and `linuxkit cache` so a Makefile can swap one binary for the other.
package main

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/lkpkg/lkpkg/executor"
	"github.com/lkpkg/lkpkg/rootless"
	"github.com/lkpkg/lkpkg/snapshot"
)

// Set with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)

// roles are the jobs lkpkg does when it re-executes itself, tried in this order before the command line is read;
// each returns true when this process was one of them and has done its job.
var roles = []struct {
	name string
	run  func() bool
}{
	// BuildKit re-executes lkpkg as "runc", libcontainer as a container's init; the watchdog and /proc probe too.
	{"container runtime", executor.RuntimeMain},
	// A rootless build re-executes lkpkg in a user namespace; this sets up that process and goes on to the CLI.
	// It comes after the runtime, which keeps the parent-death signal of its own choosing.
	{"rootless build", func() bool { rootless.Main(); return false }},
	// containers-storage (--store) re-executes lkpkg to unpack layers in a chroot.
	{"containers-storage helper", snapshot.StoreMain},
}

func main() {
	for _, role := range roles {
		if role.run() {
			return
		}
	}
	app := newApp()
	stopProfiles, err := startProfiles()
	if err == nil {
		err = app.Run(interspersed(app, os.Args))
	}
	stopProfiles()
	if err != nil {
		if err.Error() != "" { // empty: already reported, e.g. by the rootless build
			fmt.Fprintln(os.Stderr, "lkpkg:", err)
		}
		var ec cli.ExitCoder
		if errors.As(err, &ec) {
			os.Exit(ec.ExitCode())
		}
		os.Exit(1)
	}
}

func newApp() *cli.App {
	app := &cli.App{
		Name:                   "lkpkg",
		Usage:                  "build LinuxKit packages without a Docker daemon",
		Version:                version,
		HideVersion:            true,
		UseShortOptionHandling: true,
		Flags:                  rootFlags(),
		Commands:               []*cli.Command{pkgCommand(), cacheCommand(), keyCommand(), verifyCommand(), versionCommand()},
		Before:                 checkLogFlags,
		Action:                 unknownCommand,
		// Errors are printed once, by main.
		ExitErrHandler: func(*cli.Context, error) {},
	}
	for _, cmd := range app.Commands {
		if cmd.Action == nil && len(cmd.Subcommands) > 0 {
			cmd.Action = unknownCommand
		}
	}
	return app
}

func rootFlags() []cli.Flag {
	return []cli.Flag{
		cacheFlag(),
		&cli.StringSliceFlag{Name: "mirror", EnvVars: []string{"LINUXKIT_MIRROR"},
			Usage: "read images from a mirror first: [<registry>=]http(s)://host[:port][/path] (no registry: every registry); for FROM images, cache pull, --pull and --precache-images, never for pushes"},
		&cli.StringSliceFlag{Name: "cert-file", Usage: "extra CA certificate(s) for registry TLS"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only errors and what a command exists to print (tags, exports); cache ls prints nothing"},
		&cli.IntFlag{Name: "verbose", Aliases: []string{"v"}, Value: levelInfo, Usage: "log level: 0 errors only, 1 info, 2 lkpkg's decisions (cache hits, registry look-ups, where things build), 3 also BuildKit's debug log"},
	}
}

// cacheFlag is declared on the root and on every command that uses the cache, so it works in either position,
// as with linuxkit's persistent flags. Unlike linuxkit, LINUXKIT_CACHE is honoured by every command.
func cacheFlag() cli.Flag {
	return &cli.StringFlag{Name: "cache", EnvVars: []string{"LINUXKIT_CACHE"},
		Usage: "linuxkit cache directory (default ~/.linuxkit/cache)"}
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the lkpkg version, commit, architecture and linking",
		Action: func(c *cli.Context) error {
			fmt.Fprintf(c.App.Writer, "lkpkg version %s\ncommit: %s\narch: %s/%s\nstatic: %s\n",
				version, commit, runtime.GOOS, runtime.GOARCH, linking())
			return nil
		},
	}
}

// linking says whether this binary is statically linked ("yes": it runs on a bare host with no C library) or
// names its dynamic loader, read from its own ELF program headers.
func linking() string {
	exe, err := os.Executable()
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	f, err := elf.Open(exe)
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		interp, err := io.ReadAll(p.Open())
		if err != nil {
			return "no"
		}
		return "no (loader " + strings.TrimRight(string(interp), "\x00") + ")"
	}
	return "yes"
}
