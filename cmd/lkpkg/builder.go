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

// cacheTarget is one build cache the builder commands act on.
type cacheTarget struct {
	name   string
	client *client.Client
	close  func() error
}

// cacheTargets opens the in-process engine on its state dir (unless --remote-only) and dials every --builders
// target.
func cacheTargets(ctx context.Context, c *cli.Context) ([]cacheTarget, error) {
	builders, err := build.ParseBuilders(c.String("builders"))
	if err != nil {
		return nil, err
	}
	var targets []cacheTarget
	closeAll := func() {
		for _, t := range targets {
			_ = t.close() // the dial error is what the user needs; these targets did no work yet
		}
	}
	if !c.Bool("remote-only") {
		e, err := executor.Open(ctx, executor.Options{StateDir: flagString(c, "state-dir"), Messages: c.App.ErrWriter})
		if err != nil {
			return nil, err
		}
		targets = append(targets, cacheTarget{name: "in-process engine (" + e.StateDir() + ")", client: e.Client(), close: e.Close})
	}
	addrs := map[string]bool{}
	for _, a := range builders {
		addrs[a] = true
	}
	sorted := make([]string, 0, len(addrs))
	for a := range addrs {
		sorted = append(sorted, a)
	}
	sort.Strings(sorted)
	for _, a := range sorted {
		r, err := executor.Dial(ctx, a, build.BuilderDialTimeout)
		if err != nil {
			closeAll()
			return nil, err
		}
		targets = append(targets, cacheTarget{name: "builder " + r.Address, client: r.Client(), close: r.Close})
	}
	return targets, nil
}

func builderDu(c *cli.Context) error {
	return withCacheTargets(c, func(ctx context.Context, t cacheTarget) error {
		du, err := t.client.DiskUsage(ctx)
		if err != nil {
			return fmt.Errorf("%s: disk usage: %w", t.name, err)
		}
		printDiskUsage(c.App.Writer, t.name, du)
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
	opts := []client.PruneOption{client.WithKeepOpt(c.Duration("keep-duration"), 0, keepStorage, 0)}
	if c.Bool("all") {
		opts = append(opts, client.PruneAll)
	}
	return withCacheTargets(c, func(ctx context.Context, t cacheTarget) error {
		ch := make(chan client.UsageInfo)
		var freed int64
		var records int
		done := make(chan struct{})
		go func() {
			for u := range ch {
				freed += u.Size
				records++
			}
			close(done)
		}()
		err := t.client.Prune(ctx, ch, opts...)
		close(ch)
		<-done
		if err != nil {
			return fmt.Errorf("%s: prune: %w", t.name, err)
		}
		fmt.Fprintf(c.App.Writer, "%s: removed %d records, %s freed\n", t.name, records, units.HumanSize(float64(freed)))
		return nil
	})
}

// withCacheTargets runs fn on every cache target, rootless builds in their user namespace as `pkg build` does.
func withCacheTargets(c *cli.Context, fn func(context.Context, cacheTarget) error) (err error) {
	if rootless.Needed() && !c.Bool("remote-only") {
		return buildRootless(c)
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	targets, err := cacheTargets(ctx, c)
	if err != nil {
		return err
	}
	defer func() {
		// Closing the engine flushes its state; a failure there is reported with fn's.
		for _, t := range targets {
			err = errors.Join(err, t.close())
		}
	}()
	for _, t := range targets {
		if err := fn(ctx, t); err != nil {
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
