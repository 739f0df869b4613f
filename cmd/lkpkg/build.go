package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/lkpkg/lkpkg/build"
	"github.com/lkpkg/lkpkg/executor"
	"github.com/lkpkg/lkpkg/frontend"
	"github.com/lkpkg/lkpkg/registry"
	"github.com/lkpkg/lkpkg/rootless"
	"github.com/lkpkg/lkpkg/snapshot"
)

// stateDirFlag is where the embedded BuildKit keeps snapshots and its build cache.
func stateDirFlag() cli.Flag {
	return &cli.StringFlag{Name: "state-dir", EnvVars: []string{"LKPKG_STATE"},
		Usage: "directory for the build engine's state (default " + executor.DefaultStateDir + ", $XDG_DATA_HOME/lkpkg when not root)"}
}

func pkgBuild(c *cli.Context) error {
	push, err := checkBuildFlags(c)
	if err != nil {
		return err
	}
	if rootless.Needed() && !c.Bool("dry-run") && !c.Bool("nobuild") {
		return buildRootless()
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// The first signal stops the build cleanly; from then on signals act as usual, so a second one ends lkpkg
		// at once (the cache stays valid; containers die with lkpkg) rather than after a registry's backoff.
		<-ctx.Done()
		if c.Context.Err() == nil {
			stop()
		}
	}()
	b, req, err := newBuild(ctx, c, push)
	if err != nil {
		return err
	}
	defer b.Close()
	err = b.Run(ctx, *req)
	if err != nil && ctx.Err() != nil && c.Context.Err() == nil {
		// Interrupted (SIGINT/SIGTERM): the engine has stopped the build's containers; exit as shells expect.
		return cli.Exit(fmt.Sprintf("interrupted: %v", err), 130)
	}
	return err
}

// buildRootless runs this same command again as root of a user namespace made of the caller's subordinate ids
// (see package rootless) and exits as it does; that run prints its own errors.
func buildRootless() error {
	status, err := rootless.Run()
	if err != nil {
		return err
	}
	if status != 0 {
		return cli.Exit("", status)
	}
	return nil
}

// checkBuildFlags refuses flag combinations that cannot work, before anything is read or built, and says whether
// this is a push (`pkg push` is `pkg build --push`).
func checkBuildFlags(c *cli.Context) (push bool, err error) {
	if c.NArg() < 1 {
		return false, cli.Exit("pkg build needs at least one package directory", 2)
	}
	if err := checkProgressMode(c.String("progress")); err != nil {
		return false, err
	}
	push = c.Bool("push") || c.Command.Name == "push"
	if c.Command.Name == "push" {
		fmt.Fprintln(c.App.ErrWriter, `Command "push" is deprecated, use 'pkg build --push' instead`) // as linuxkit says
	}
	switch {
	case c.Bool("force") && c.Bool("pull"):
		return false, cli.Exit("--force and --pull cannot be combined", 2)
	case !push && c.Bool("nobuild"):
		return false, cli.Exit("--nobuild only makes sense with --push", 2)
	case !push && (c.String("release") != "" || c.Bool("release-from-git-tag")):
		return false, cli.Exit("--release and --release-from-git-tag only make sense with --push", 2)
	case c.String("release") != "" && c.Bool("release-from-git-tag"):
		return false, cli.Exit("--release and --release-from-git-tag cannot be combined", 2)
	case c.Bool("nobuild") && (c.Bool("force") || c.Bool("pull")):
		return false, cli.Exit("--nobuild cannot be combined with --force or --pull", 2)
	case !push && c.String("sign-key") != "" && os.Getenv(signKeyEnv) == "":
		return false, cli.Exit("--sign-key only makes sense with --push (signatures are attached in the registry)", 2)
	}
	return push, nil
}

// newBuild maps the flags onto a Builder and the request it runs.
func newBuild(ctx context.Context, c *cli.Context, push bool) (*build.Builder, *build.Request, error) {
	loadOpts, err := loaderOptions(c)
	if err != nil {
		return nil, nil, err
	}
	cache, err := openCache(c)
	if err != nil {
		return nil, nil, err
	}
	opts, err := builderOptions(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	pushReq, err := pushRequest(c, push, opts.Puller.Remote)
	if err != nil {
		return nil, nil, err
	}
	req := &build.Request{
		Dirs: c.Args().Slice(),
		Load: loadOpts,
		Plan: frontend.BuildOptions{
			Platforms:     c.String("platforms"),
			SkipPlatforms: c.String("skip-platforms"),
			Dockerfile:    c.String("dockerfile"),
			BuildArgFiles: stringArrayOf(c, "build-arg-file"),
			Environ:       os.Environ(),
			ToolVersion:   version,
			ToolRevision:  commit,
		},
		Print: func(p *frontend.Package, _ *build.Result) { fmt.Fprintln(c.App.Writer, p.Tag()) },
		Push:  pushReq,
	}
	return build.New(cache, opts), req, nil
}

// builderOptions maps the engine, registry, output and progress flags.
func builderOptions(ctx context.Context, c *cli.Context) (build.Options, error) {
	creds, err := registry.LoadCredentials(flagStrings(c, "registry-creds"))
	if err != nil {
		return build.Options{}, err
	}
	hostOpts := registry.HostsOptions{
		Insecure:      c.StringSlice("insecure-registry"),
		BuilderConfig: c.String("builder-config"),
		CertFiles:     flagStrings(c, "cert-file"),
		Mirrors:       flagStrings(c, "mirror"),
	}
	remote, err := remoteFor(c, creds, hostOpts)
	if err != nil {
		return build.Options{}, err
	}
	puller := &registry.Puller{Remote: remote}
	store, err := storeOptions(c)
	if err != nil {
		return build.Options{}, err
	}
	ssh, err := build.SSHAgents(stringArrayOf(c, "ssh"))
	if err != nil {
		return build.Options{}, err
	}
	builders, err := build.ParseBuilders(c.String("builders"))
	if err != nil {
		return build.Options{}, cli.Exit(err.Error(), 2)
	}
	var docker *snapshot.DockerDaemon
	if c.Bool("docker") {
		if docker, err = snapshot.ConnectDocker(ctx, snapshot.DockerHost()); err != nil {
			return build.Options{}, err
		}
	}
	return build.Options{
		Force:        c.Bool("force"),
		IgnoreCached: c.Bool("ignore-cached"),
		Engine:       executor.Options{StateDir: flagString(c, "state-dir"), Messages: c.App.ErrWriter, BuilderConfig: c.String("builder-config")},
		Registry:     hostOpts,
		Credentials:  creds,
		SSH:          ssh,
		SBOMScanner:  sbomScanner(c.String("sbom-scanner")),
		Pull:         c.Bool("pull"),
		Precache:     c.Bool("precache-images"),
		Puller:       puller,
		Progress:     c.App.ErrWriter,
		ProgressMode: c.String("progress"),
		Log:          c.App.ErrWriter,
		Concurrency:  concurrency(c.String("progress")),
		Docker:       docker,
		DryRun:       c.Bool("dry-run"),
		Store:        store,
		Builders:     builders,
	}, nil
}

// sbomScanner is the --sbom-scanner image; linuxkit's "false" turns SBOMs off, as does an empty value (unlike
// linuxkit, which then pulls docker/buildkit-syft-scanner from Docker Hub: lkpkg builds must work offline).
func sbomScanner(v string) string {
	if v == "false" {
		return ""
	}
	return v
}

// storeOptions maps --store, --store-root and --store-runroot; nil when the images stay in the cache only.
func storeOptions(c *cli.Context) (*snapshot.StoreOptions, error) {
	opts := &snapshot.StoreOptions{GraphRoot: c.String("store-root"), RunRoot: c.String("store-runroot")}
	if !c.Bool("store") {
		if *opts != (snapshot.StoreOptions{}) {
			return nil, cli.Exit("--store-root and --store-runroot need --store", 2)
		}
		return nil, nil
	}
	return opts, nil
}

// concurrency is how many packages build at once: one per CPU, but one at a time when BuildKit's progress
// display owns the terminal (two displays would overwrite each other).
func concurrency(mode string) int {
	if mode == "tty" || (mode == "auto" && isTerminal(os.Stderr)) {
		return 1
	}
	return runtime.NumCPU()
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// checkProgressMode refuses unknown --progress values, and tty without a terminal, before anything is built.
func checkProgressMode(mode string) error {
	switch mode {
	case "auto", "plain", "quiet", "rawjson":
		return nil
	case "tty":
		if !isTerminal(os.Stderr) {
			return cli.Exit("--progress tty needs a terminal on stderr; use --progress plain (or auto)", 2)
		}
		return nil
	}
	return cli.Exit(fmt.Sprintf("--progress %q: use auto, plain, tty, quiet or rawjson", mode), 2)
}

// pushRequest maps --push, --manifest, --release and --nobuild onto a build.PushRequest (nil without --push).
func pushRequest(c *cli.Context, push bool, remote registry.Remote) (*build.PushRequest, error) {
	if !push {
		return nil, nil
	}
	pusher := &registry.Pusher{Remote: remote, Log: c.App.ErrWriter} // the pulls' Remote: pushes ignore its mirrors
	req := &build.PushRequest{
		Pusher:              pusher,
		ArchTags:            c.Bool("manifest"),
		Release:             c.String("release"),
		ReleaseFromGitTag:   c.Bool("release-from-git-tag"),
		NoBuild:             c.Bool("nobuild"),
		DisableContentTrust: c.Bool("disable-content-trust"),
	}
	if keyFile := c.String("sign-key"); keyFile != "" {
		key, err := loadSignKey(keyFile)
		if err != nil {
			return nil, err
		}
		req.Signer = registry.NewSigner(pusher.Remote, key, c.App.ErrWriter)
	}
	return req, nil
}
