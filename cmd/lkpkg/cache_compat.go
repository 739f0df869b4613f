package main

// Stand-ins for what main (the cmd/lkpkg skeleton and the frontend package) provides, so that this branch builds
// on its own. When merging into main, delete this file: main's main.go defines cacheFlag and notYet, and
// expandReferenceWithTag becomes frontend.ExpandReferenceWithTag.

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// cacheFlag is declared on the root and on every command that uses the cache, so it works in either position.
// Unlike linuxkit, LINUXKIT_CACHE is honoured by every command.
func cacheFlag() cli.Flag {
	return &cli.StringFlag{Name: "cache", EnvVars: []string{"LINUXKIT_CACHE"},
		Usage: "linuxkit cache directory (default ~/.linuxkit/cache)"}
}

// notYet is the error of a command that a later release delivers.
func notYet(what, when string) cli.ActionFunc {
	return func(*cli.Context) error {
		return cli.Exit(fmt.Sprintf("%s is not available in this version of lkpkg: %s", what, when), 3)
	}
}

// expandReferenceWithTag is linuxkit's ReferenceExpand with a default :latest (frontend.ExpandReferenceWithTag).
func expandReferenceWithTag(ref string) string {
	full := ref
	parts := strings.Split(ref, "/")
	switch {
	case len(parts) == 1:
		full = "docker.io/library/" + ref
	case len(parts) == 2 && !strings.ContainsAny(parts[0], ".:") && parts[0] != "localhost":
		full = "docker.io/" + ref
	}
	if last := full[strings.LastIndex(full, "/")+1:]; !strings.ContainsAny(last, ":@") {
		full += ":latest"
	}
	return full
}
