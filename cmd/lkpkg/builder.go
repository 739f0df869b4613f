package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/moby/buildkit/client"
	"github.com/urfave/cli/v2"

	"github.com/lkpkg/lkpkg/build"
	"github.com/lkpkg/lkpkg/executor"
	"github.com/lkpkg/lkpkg/rootless"
)

// builderCommand is linuxkit's `pkg builder`: the build cache of the in-process engine (its state dir) and of the
// --builders targets.
func builderCommand() *cli.Command {
	common := []cli.Flag{
		stateDirFlag(),
		buildersFlag(),
		&cli.BoolFlag{Name: "remote-only", Usage: "only the --builders targets, not the in-process engine's state dir"},
	}
	return &cli.Command{
		Name:  "builder",
		Usage: "show or prune the build cache of the in-process engine and of the --builders targets",
		Subcommands: []*cli.Command{
			{Name: "du", Usage: "show the build cache's disk usage", Flags: append(pkgFlags(), common...), Action: builderDu},
			{Name: "prune", Usage: "remove build cache", Flags: append(pkgFlags(), append(common,
				&cli.BoolFlag{Name: "all", Usage: "remove all build cache, not only what nothing refers to"},
				&cli.DurationFlag{Name: "keep-duration", Usage: "keep cache used within this duration (e.g. 24h)"},
				&cli.StringFlag{Name: "keep-storage", Usage: "keep at most this much cache (e.g. 10GB)"},
			)...), Action: builderPrune},
		},
	}
}

// buildersFlag is linuxkit's --builders: BuildKit builders by platform.
func buildersFlag() cli.Flag {
	return &cli.StringFlag{Name: "builders", EnvVars: []string{"LINUXKIT_BUILDERS"},
		Usage: "BuildKit builders by platform: <platform>=<builder>[,…], a builder being tcp://host:port[?cacert=…&cert=…&key=…&servername=…], unix:///path, ssh://user@host, kube-pod://<pod>?namespace=<ns>, docker-container://<name> or podman-container://<name>; other platforms build in-process"}
}

func builderDu(c *cli.Context) error {
	return withBuildCaches(c, func(ctx context.Context, bc build.BuildCache) error {
		du, err := bc.DiskUsage(ctx)
		if err != nil {
			return err
		}
		printDiskUsage(c.App.Writer, bc.Name, du)
		return nil
	})
}

func builderPrune(c *cli.Context) error {
	var keepStorage int64
	if s := c.String("keep-storage"); s != "" {
		var err error
		if keepStorage, err = units.RAMInBytes(s); err != nil {
			return fmt.Errorf("--keep-storage %q: want a size such as 10GB or 512MB", s)
		}
	}
	return withBuildCaches(c, func(ctx context.Context, bc build.BuildCache) error {
		records, freed, err := bc.Prune(ctx, c.Duration("keep-duration"), keepStorage, c.Bool("all"))
		if err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "%s: removed %d records, %s freed\n", bc.Name, records, units.HumanSize(float64(freed)))
		return nil
	})
}

// withBuildCaches runs fn on the in-process engine's build cache (unless --remote-only) and each --builders
// target's, rootless builds in their user namespace as `pkg build` does.
func withBuildCaches(c *cli.Context, fn func(context.Context, build.BuildCache) error) (err error) {
	if rootless.Needed() && !c.Bool("remote-only") {
		return buildRootless(c)
	}
	builders, err := build.ParseBuilders(c.String("builders"))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	caches, err := build.OpenBuildCaches(ctx, executor.Options{StateDir: flagString(c, "state-dir"), Messages: c.App.ErrWriter},
		builders, c.Bool("remote-only"))
	if err != nil {
		return err
	}
	defer func() {
		// Closing the engine flushes its state; a failure there is reported with fn's.
		for _, bc := range caches {
			err = errors.Join(err, bc.Close())
		}
	}()
	for _, bc := range caches {
		if err := fn(ctx, bc); err != nil {
			return err
		}
	}
	return nil
}

// printDiskUsage prints records as `buildctl du` does, then the reclaimable and total sizes.
func printDiskUsage(w io.Writer, name string, du []*client.UsageInfo) {
	sort.Slice(du, func(i, j int) bool { return du[i].Size > du[j].Size })
	fmt.Fprintf(w, "%s:\n", name)
	tw := tabwriter.NewWriter(w, 1, 8, 1, ' ', 0)
	fmt.Fprintln(tw, "ID\tRECLAIMABLE\tSIZE\tLAST ACCESSED")
	var total, reclaimable int64
	for _, u := range du {
		id := u.ID
		if u.Mutable {
			id += "*"
		}
		last := ""
		if u.LastUsedAt != nil {
			last = units.HumanDuration(time.Since(*u.LastUsedAt)) + " ago"
		}
		fmt.Fprintf(tw, "%s\t%v\t%s\t%s\n", id, !u.InUse, units.HumanSize(float64(u.Size)), last)
		total += u.Size
		if !u.InUse {
			reclaimable += u.Size
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "Reclaimable:\t%s\nTotal:\t%s\n", units.HumanSize(float64(reclaimable)), units.HumanSize(float64(total)))
}
