package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

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
		return buildRootless(c)
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// The first signal stops the build cleanly; from then on signals act as usual, so a second one ends lkpkg
		// at once (the cache stays valid; containers die with lkpkg) rather than after a registry's backoff.
		<-ctx.Done()
		if c.Err() == nil {
			stop()
		}
	}()
	b, req, err := newBuild(ctx, c, push)
	if err != nil {
		return err
	}
	defer b.Close()
	defer req.Outputs.Close()
	err = b.Run(ctx, *req)
	if err != nil && ctx.Err() != nil && c.Err() == nil {
		// Interrupted (SIGINT/SIGTERM): the engine has stopped the build's containers; exit as shells expect.
		return cli.Exit(fmt.Sprintf("interrupted: %v", err), 130)
	}
	return err
}

// buildRootless runs this same command again as root of a user namespace made of the caller's subordinate ids
// (see package rootless) and exits as it does; that run prints its own errors.
func buildRootless(c *cli.Context) error {
	status, err := rootless.Run(c.App.ErrWriter)
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
		return false, errors.New("pkg build needs at least one package directory")
	}
	if err := build.CheckProgressMode(c.String("progress")); err != nil {
		return false, err
	}
	push = c.Bool("push") || c.Command.Name == "push"
	if c.Command.Name == "push" {
		fmt.Fprintln(c.App.ErrWriter, `Command "push" is deprecated, use 'pkg build --push' instead`) // as linuxkit says
	}
	switch {
	case c.Bool("force") && c.Bool("pull"):
		return false, errors.New("--force and --pull cannot be combined")
	case !push && c.Bool("nobuild"):
		return false, errors.New("--nobuild only makes sense with --push")
	case !push && (c.String("release") != "" || c.Bool("release-from-git-tag")):
		return false, errors.New("--release and --release-from-git-tag only make sense with --push")
	case c.String("release") != "" && c.Bool("release-from-git-tag"):
		return false, errors.New("--release and --release-from-git-tag cannot be combined")
	case c.Bool("nobuild") && (c.Bool("force") || c.Bool("pull")):
		return false, errors.New("--nobuild cannot be combined with --force or --pull")
	case !push && c.String("sign-key") != "" && os.Getenv(signKeyEnv) == "":
		return false, errors.New("--sign-key only makes sense with --push (signatures are attached in the registry)")
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
	opts, err := builderOptions(c)
	if err != nil {
		return nil, nil, err
	}
	outputs, err := buildOutputs(ctx, c, push, opts.Puller.Remote)
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
		Print:   func(p *frontend.Package, _ *build.Result) { fmt.Fprintln(c.App.Writer, p.Tag()) },
		Outputs: outputs,
		NoBuild: push && c.Bool("nobuild"),
	}
	return build.New(cache, opts), req, nil
}

// builderOptions maps the engine, registry and progress flags.
func builderOptions(c *cli.Context) (build.Options, error) {
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
	ssh, err := build.SSHAgents(stringArrayOf(c, "ssh"))
	if err != nil {
		return build.Options{}, err
	}
	builders, err := build.ParseBuilders(c.String("builders"))
	if err != nil {
		return build.Options{}, err
	}
	logs := logsFor(c)
	return build.Options{
		Force:        c.Bool("force"),
		IgnoreCached: c.Bool("ignore-cached"),
		Engine: executor.Options{StateDir: flagString(c, "state-dir"), Messages: logs.Info, Debug: logs.Debug,
			BuildKitLog: logs.BuildKit, BuildKitDebug: logs.BuildKitDebug,
			Explain: logLevel(c) >= levelDebug, BuilderConfig: c.String("builder-config")},
		Registry:     hostOpts,
		Credentials:  creds,
		SSH:          ssh,
		SBOMScanner:  sbomScanner(c),
		SBOMDefault:  !c.IsSet("sbom-scanner"),
		Pull:         c.Bool("pull"),
		Offline:      c.Bool("offline"),
		Precache:     c.Bool("precache-images"),
		Puller:       &registry.Puller{Remote: remote},
		Progress:     c.App.ErrWriter,
		ProgressMode: c.String("progress"),
		Log:          logs.Info,
		Debug:        logs.Debug,
		Concurrency:  build.Concurrency(c.String("progress")),
		DryRun:       c.Bool("dry-run"),
		Builders:     builders,
	}, nil
}

// buildOutputs are where built packages go besides the linuxkit cache: containers-storage (--store), a Docker
// daemon (--docker) and the registry (--push), in that order. Each is checked now, before anything is built.
func buildOutputs(ctx context.Context, c *cli.Context, push bool, remote registry.Remote) (build.MultiOutput, error) {
	var outputs build.MultiOutput
	store, err := storeOptions(c)
	if err != nil {
		return nil, err
	}
	if store != nil && !c.Bool("dry-run") {
		o, err := build.NewStoreOutput(*store, logsFor(c).Info)
		if err != nil {
			return nil, err
		}
		outputs = append(outputs, o)
	}
	if c.Bool("docker") {
		daemon, err := snapshot.ConnectDockerCLI(ctx)
		if err != nil {
			return nil, errors.Join(err, outputs.Close())
		}
		outputs = append(outputs, build.NewDockerOutput(daemon, logsFor(c).Info))
	}
	if push {
		o, err := pushOutput(c, remote)
		if err != nil {
			return nil, errors.Join(err, outputs.Close())
		}
		outputs = append(outputs, o)
	}
	return outputs, nil
}

// sbomScanner is the --sbom-scanner image; linuxkit's "false" turns SBOMs off, as does an empty value. Without the
// flag it is linuxkit's default scanner, which the build uses only if it can be had (build.Options.SBOMDefault).
func sbomScanner(c *cli.Context) string {
	if !c.IsSet("sbom-scanner") {
		return build.DefaultSBOMScanner
	}
	if v := c.String("sbom-scanner"); v != "false" {
		return v
	}
	return ""
}

// storeOptions maps --store, --store-root and --store-runroot; nil when the images stay in the cache only.
func storeOptions(c *cli.Context) (*snapshot.StoreOptions, error) {
	opts := &snapshot.StoreOptions{GraphRoot: c.String("store-root"), RunRoot: c.String("store-runroot")}
	if !c.Bool("store") {
		if *opts != (snapshot.StoreOptions{}) {
			return nil, errors.New("--store-root and --store-runroot need --store")
		}
		return nil, nil
	}
	return opts, nil
}

// pushOutput maps --manifest, --release, --nobuild and the signing flags onto a build.PushOutput.
func pushOutput(c *cli.Context, remote registry.Remote) (*build.PushOutput, error) {
	pusher := &registry.Pusher{Remote: remote, Log: logsFor(c).Info} // the pulls' Remote: pushes ignore its mirrors
	o := &build.PushOutput{
		Pusher:              pusher,
		ArchTags:            c.Bool("manifest"),
		Release:             c.String("release"),
		ReleaseFromGitTag:   c.Bool("release-from-git-tag"),
		NoBuild:             c.Bool("nobuild"),
		DisableContentTrust: c.Bool("disable-content-trust"),
		Log:                 logsFor(c).Info,
	}
	if keyFile := c.String("sign-key"); keyFile != "" {
		key, err := loadSignKey(keyFile)
		if err != nil {
			return nil, err
		}
		o.Signer = registry.NewSigner(pusher.Remote, key, logsFor(c).Info)
	}
	return o, nil
}
