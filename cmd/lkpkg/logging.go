package main

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"
)

// Log levels of -v, as linuxkit numbers them; -q is level 0.
const (
	levelQuiet    = 0 // errors only
	levelInfo     = 1 // what is built, pulled, pushed, removed (the default)
	levelDebug    = 2 // lkpkg's decisions: cache hits, registry look-ups, what is built where
	levelBuildKit = 3 // BuildKit's and containerd's own debug log as well
)

// logs is where each level's lines go: the one place the CLI turns -q/-v into writers for build/, registry/ and
// executor/, which write each line to the writer of its level and never look at the level themselves.
type logs struct {
	Info     io.Writer
	Debug    io.Writer
	BuildKit io.Writer // nil: BuildKit's log is dropped
	// BuildKitDebug raises BuildKit's log from warnings to debug lines.
	BuildKitDebug bool
}

// logLevel is -v, or 0 with -q (which wins, as linuxkit's quiet sets the error level after -v is read).
func logLevel(c *cli.Context) int {
	if c.Bool("quiet") {
		return levelQuiet
	}
	return c.Int("verbose")
}

func logsFor(c *cli.Context) logs {
	return logsAt(logLevel(c), c.App.ErrWriter)
}

func logsAt(level int, w io.Writer) logs {
	l := logs{Info: io.Discard, Debug: io.Discard}
	if level >= levelInfo {
		l.Info = w
	}
	if level >= levelDebug {
		l.Debug = w
	}
	if level >= levelBuildKit {
		l.BuildKit, l.BuildKitDebug = w, true
	}
	return l
}

// checkLogFlags refuses a -v level linuxkit does not have.
func checkLogFlags(c *cli.Context) error {
	if v := c.Int("verbose"); v < levelQuiet || v > levelBuildKit {
		return fmt.Errorf("--verbose %d: use 0 (errors only), 1 (default), 2 (lkpkg's decisions) or 3 (BuildKit's debug log)", v)
	}
	return nil
}

// unknownCommand answers a command group (pkg, cache, key) or the app given a name that is none of its commands:
// an error (exit 1, as linuxkit's), where urfave/cli would print "No help topic" and exit 3. With no name it
// shows the group's help.
func unknownCommand(c *cli.Context) error {
	// urfave/cli names the app's own command after the app.
	top := c.Command == nil || c.Command.Name == "" || c.Command.Name == c.App.Name
	switch {
	case c.NArg() == 0 && top:
		return cli.ShowAppHelp(c)
	case c.NArg() == 0:
		return cli.ShowSubcommandHelp(c)
	}
	name := "lkpkg"
	if !top {
		name = "lkpkg " + c.Command.Name
	}
	return fmt.Errorf("unknown command %q for %q; see `%s --help`", c.Args().First(), name, name)
}
