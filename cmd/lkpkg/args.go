package main

import (
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/lkpkg/lkpkg/snapshot"
)

// This file holds what makes urfave/cli read flags as linuxkit's cobra CLI does: argument order (interspersed) and
// flags declared at several levels (setIn, flagString…, cacheDir).

// interspersed reorders os.Args so that flags given after positional arguments, or after a subcommand while they
// belong to a command above it, still parse, as they do with linuxkit's cobra CLI, whose root and pkg flags are
// persistent (`lkpkg pkg build dir --force`, `lkpkg pkg build --cert-file ca.pem dir`). urfave/cli stops parsing
// flags at the first positional argument and knows a flag only at the level that declares it. Each flag is moved
// to the deepest command on the path that declares it (the innermost when none does, for urfave/cli to report);
// "--" ends flag parsing.
func interspersed(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	// levels[0] is the app; each command on the path adds one, with its name and the flags given for it.
	type level struct {
		name  string
		flags []cli.Flag
		given []string
	}
	levels := []*level{{flags: app.Flags}}
	commands := app.Commands
	var positional []string
	place := func(i int) int { // files the flag at args[i] (and its value); returns how many args it took
		a := args[i]
		at := levels[len(levels)-1]
		for l := len(levels) - 1; l >= 0; l-- {
			if declares(levels[l].flags, a) {
				at = levels[l]
				break
			}
		}
		at.given = append(at.given, a)
		if takesValue(at.flags, a) && i+1 < len(args) {
			at.given = append(at.given, args[i+1])
			return 2
		}
		return 1
	}
	walking := true
	for i := 1; i < len(args); {
		a := args[i]
		switch {
		case a == "--":
			positional = append(positional, args[i:]...)
			i = len(args)
		case isFlag(a):
			i += place(i)
		case walking && findCommand(commands, a) != nil:
			cmd := findCommand(commands, a)
			levels = append(levels, &level{name: a, flags: cmd.Flags})
			commands = cmd.Subcommands
			i++
		default:
			walking = false
			positional = append(positional, a)
			i++
		}
	}
	out := []string{args[0]}
	for i, l := range levels {
		if i > 0 {
			out = append(out, l.name)
		}
		out = append(out, l.given...)
	}
	return append(out, positional...)
}

// declares reports whether flags has a flag named as a (-name, --name or --name=value).
func declares(flags []cli.Flag, a string) bool {
	name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

func isFlag(a string) bool { return len(a) > 1 && a[0] == '-' && a != "--" }

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// takesValue reports whether a (-name or --name, without =value) is a known non-boolean flag.
func takesValue(flags []cli.Flag, a string) bool {
	name := strings.TrimLeft(a, "-")
	if strings.Contains(name, "=") {
		return false
	}
	for _, f := range flags {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			_, isBool := f.(*cli.BoolFlag)
			return !isBool
		}
	}
	return false
}

// setIn returns the innermost command context in which the flag was given (by flag or environment), or nil.
func setIn(c *cli.Context, name string) *cli.Context {
	for _, ctx := range c.Lineage() {
		if ctx.Command == nil && ctx.App == nil {
			continue
		}
		for _, n := range ctx.LocalFlagNames() {
			if n == name {
				return ctx
			}
		}
	}
	for _, ctx := range c.Lineage() {
		if ctx.IsSet(name) {
			return ctx
		}
	}
	return nil
}

func flagString(c *cli.Context, name string) string {
	if ctx := setIn(c, name); ctx != nil {
		return ctx.String(name)
	}
	return c.String(name)
}

func flagStrings(c *cli.Context, name string) []string {
	if ctx := setIn(c, name); ctx != nil {
		return ctx.StringSlice(name)
	}
	return c.StringSlice(name)
}

func flagBool(c *cli.Context, name string) bool {
	if ctx := setIn(c, name); ctx != nil {
		return ctx.Bool(name)
	}
	return c.Bool(name)
}

// cacheDir is --cache from the innermost command that was given it, else LINUXKIT_CACHE, else ~/.linuxkit/cache.
// (urfave/cli reads a flag from the innermost command that declares it, so a root --cache needs the walk.)
func cacheDir(c *cli.Context) (string, error) {
	env := os.Getenv("LINUXKIT_CACHE")
	for _, ctx := range c.Lineage() {
		if v := ctx.String("cache"); v != "" && v != env {
			return v, nil
		}
	}
	if env != "" {
		return env, nil
	}
	return snapshot.DefaultDir()
}
