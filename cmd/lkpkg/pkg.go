package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/lkpkg/lkpkg/frontend"
)

func pkgCommand() *cli.Command {
	return &cli.Command{
		Name:  "pkg",
		Usage: "build and push LinuxKit packages",
		Flags: pkgFlags(),
		Subcommands: []*cli.Command{
			{Name: "build", Usage: "build packages", ArgsUsage: "<dir>...", Flags: append(pkgFlags(), buildFlags()...),
				Action: pkgBuild},
			{Name: "push", Usage: "build and push packages (alias of build --push)", ArgsUsage: "<dir>...",
				Flags: append(pkgFlags(), buildFlags()...), Action: pkgBuild},
			{Name: "show-tag", Usage: "print the tag of each package", ArgsUsage: "<dir>...",
				Flags:  append(pkgFlags(), &cli.BoolFlag{Name: "canonical", Usage: "print the full reference (docker.io/...)"}),
				Action: showTag},
			{Name: "manifest", Aliases: []string{"index"}, Usage: "rebuild a package's multi-arch index from its per-arch tags in the registry",
				ArgsUsage: "<dir>", Flags: append(pkgFlags(), &cli.StringFlag{Name: "release", Usage: "also update this release tag"}, insecureRegistryFlag()),
				Action: pkgManifest},
			{Name: "remote-tag", Usage: "tag a remote image under another name", ArgsUsage: "<from> <to>",
				Flags:  append(pkgFlags(), &cli.StringFlag{Name: "release", Usage: "unused, accepted for linuxkit compatibility"}, insecureRegistryFlag()),
				Action: pkgRemoteTag},
			builderCommand(),
		},
	}
}

// pkgFlags are linuxkit's `pkg` persistent flags. They are declared on `pkg` and on each subcommand so they are
// accepted before or after the subcommand name.
func pkgFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "org", EnvVars: []string{"LINUXKIT_PKG_ORG"}, Usage: "override the hub org (default: build.yml's, else linuxkit)"},
		&cli.StringFlag{Name: "build-yml", Value: frontend.DefaultBuildYML, Usage: "name of the build.yml file in the package directory"},
		&cli.StringFlag{Name: "hash", Usage: "use this hash instead of the git tree hash"},
		&cli.StringFlag{Name: "tag", Usage: "tag template; {{.Hash}} is the hash (default: build.yml's, else {{.Hash}})"},
		&cli.StringFlag{Name: "hash-commit", Value: "HEAD", Usage: "git commit whose tree is hashed"},
		&cli.StringFlag{Name: "hash-path", Usage: "directory whose tree is hashed; must contain the package directory"},
		&cli.BoolFlag{Name: "dev", Usage: "development build: org $USER, hash \"dev\""},
		&cli.BoolFlag{Name: "force-dirty", Usage: "treat the package as dirty"},
		&cli.BoolFlag{Name: "disable-cache", Usage: "disable the build cache"},
		&cli.BoolFlag{Name: "enable-cache", Value: true, Usage: "enable the build cache"},
		&cli.BoolFlag{Name: "network", Usage: "allow network use during the build"},
		&cli.BoolFlag{Name: "nonetwork", Value: true, Usage: "disallow network use during the build"},
		registryCredsFlag(),
	}
}

// registryCredsFlag is --registry-creds, the same for every command that reaches a registry.
func registryCredsFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: "registry-creds", Usage: "registry credentials as <registry>=<user>:<password> or <registry>=<base64 token>"}
}

func buildFlags() []cli.Flag {
	return []cli.Flag{
		cacheFlag(),
		&cli.BoolFlag{Name: "force", Usage: "always build, even if the image is already in the cache"},
		&cli.BoolFlag{Name: "pull", Usage: "pull the image from the registry when not in the cache, build only if that fails"},
		&cli.BoolFlag{Name: "offline", EnvVars: []string{"LKPKG_OFFLINE"}, Usage: "never look the package's tag (or the default SBOM scanner) up in a registry; build what the cache lacks"},
		&cli.BoolFlag{Name: "push", Usage: "push after building"},
		&cli.BoolFlag{Name: "ignore-cached", Usage: "never serve FROM images from the linuxkit cache"},
		&cli.BoolFlag{Name: "docker", Usage: "also load the result into a Docker daemon"},
		&cli.StringFlag{Name: "platforms", Usage: "comma-separated os/arch list overriding build.yml arches"},
		&cli.StringFlag{Name: "skip-platforms", Usage: "comma-separated linux/<arch> list removed from build.yml arches"},
		buildersFlag(),
		&cli.StringFlag{Name: "builder-name", EnvVars: []string{"LINUXKIT_BUILDER_NAME"}, Usage: "accepted for linuxkit compatibility; ignored"},
		&cli.StringFlag{Name: "builder-image", EnvVars: []string{"LINUXKIT_BUILDER_IMAGE"}, Usage: "accepted for linuxkit compatibility; ignored"},
		&cli.StringFlag{Name: "builder-config", EnvVars: []string{"LINUXKIT_BUILDER_CONFIG"}, Usage: "buildkitd.toml whose [registry] sections, [worker.oci] gc settings and max-parallelism apply to the in-process engine"},
		&cli.BoolFlag{Name: "builder-restart", Usage: "accepted for linuxkit compatibility; ignored"},
		&cli.BoolFlag{Name: "precache-images", Usage: "pull FROM images into the linuxkit cache before building"},
		&cli.StringFlag{Name: "release", Usage: "release version tag (with --push)"},
		&cli.BoolFlag{Name: "release-from-git-tag", Usage: "with --push: release under the one git tag on HEAD (linuxkit does this silently; lkpkg only when asked)"},
		&cli.BoolFlag{Name: "nobuild", Usage: "with --push: push what is in the cache without building"},
		&cli.BoolFlag{Name: "manifest", Value: true, Usage: "push the per-arch <tag>-<arch> tags too"},
		&cli.StringFlag{Name: "sign-key", EnvVars: []string{signKeyEnv},
			Usage: "with --push: sign each pushed index and platform image with this cosign private key (password in COSIGN_PASSWORD)"},
		&cli.BoolFlag{Name: "disable-content-trust", Usage: "with --push: do not sign, even with --sign-key (build.yml's disable-content-trust does it per package)"},
		&cli.StringFlag{Name: "sbom-scanner", Usage: "scanner image (BuildKit's SBOM protocol) pulled from its registry to attach an SPDX SBOM to each platform; none when empty or false (default: docker/buildkit-syft-scanner:stable-1 when its registry or a mirror has it)"},
		&cli.StringFlag{Name: "dockerfile", Usage: "Dockerfile to use, overriding build.yml"},
		&cli.GenericFlag{Name: "build-arg-file", Value: &stringArray{}, Usage: "file of KEY=VALUE build args (one per line); may be repeated"},
		&cli.StringFlag{Name: "progress", Value: "auto", EnvVars: []string{"BUILDKIT_PROGRESS"}, Usage: "progress output: auto, plain, tty, quiet or rawjson"},
		&cli.GenericFlag{Name: "ssh", Value: &stringArray{}, Usage: "SSH agent for RUN --mount=type=ssh: default (uses $SSH_AUTH_SOCK), <id>, or <id>=<socket or key file>[,…]; may be repeated"},
		&cli.BoolFlag{Name: "dry-run", Usage: "print what would be built without building"},
		stateDirFlag(),
		insecureRegistryFlag(),
		&cli.BoolFlag{Name: "store", Usage: "also commit the images into containers-storage (podman's store, from storage.conf) as <tag>-<arch>, and <tag> for this host's arch"},
		&cli.StringFlag{Name: "store-root", Usage: "with --store: graph root of the store (default from storage.conf)"},
		&cli.StringFlag{Name: "store-runroot", Usage: "with --store: run root of the store (default from storage.conf)"},
	}
}

func showTag(c *cli.Context) error {
	if c.NArg() < 1 {
		return errors.New("show-tag needs at least one package directory")
	}
	loader, err := newLoader(c)
	if err != nil {
		return err
	}
	defer loader.Close()
	for _, dir := range c.Args().Slice() {
		p, err := loader.Load(dir)
		if err != nil {
			return err
		}
		tag := p.Tag()
		if c.Bool("canonical") {
			tag = p.FullTag()
		}
		fmt.Fprintln(c.App.Writer, tag)
	}
	return nil
}

// newLoader is a frontend.Loader with the pkg flags' options; the caller closes it.
func newLoader(c *cli.Context) (*frontend.Loader, error) {
	opts, err := loaderOptions(c)
	if err != nil {
		return nil, err
	}
	return frontend.NewLoader(opts), nil
}

// loaderOptions maps the pkg flags (given before or after the subcommand) onto frontend.Options.
func loaderOptions(c *cli.Context) (frontend.Options, error) {
	network, err := boolPair(c, "network", "nonetwork")
	if err != nil {
		return frontend.Options{}, err
	}
	disableCache, err := boolPair(c, "disable-cache", "enable-cache")
	if err != nil {
		return frontend.Options{}, err
	}
	opts := frontend.Options{
		BuildYML:     flagString(c, "build-yml"),
		Org:          flagString(c, "org"),
		Hash:         flagString(c, "hash"),
		Tag:          flagString(c, "tag"),
		Dev:          flagBool(c, "dev"),
		HashPath:     flagString(c, "hash-path"),
		HashCommit:   flagString(c, "hash-commit"),
		ForceDirty:   flagBool(c, "force-dirty"),
		Network:      network,
		DisableCache: disableCache,
	}
	if opts.Dev {
		opts.User = frontend.DevUser()
	}
	// urfave/cli folds the environment into the flag; a value equal to LINUXKIT_PKG_ORG's is attributed to it.
	if env := os.Getenv("LINUXKIT_PKG_ORG"); opts.Org != "" && env == opts.Org {
		opts.OrgSource = "LINUXKIT_PKG_ORG"
	}
	return opts, nil
}

// boolPair resolves a flag and its negation (--network/--nonetwork): nil when neither was given.
func boolPair(c *cli.Context, positive, negative string) (*bool, error) {
	posCtx, negCtx := setIn(c, positive), setIn(c, negative)
	switch {
	case posCtx != nil && negCtx != nil:
		return nil, fmt.Errorf("cannot set both --%s and --%s", positive, negative)
	case posCtx != nil:
		v := posCtx.Bool(positive)
		return &v, nil
	case negCtx != nil:
		v := !negCtx.Bool(negative)
		return &v, nil
	}
	return nil, nil
}

// stringArray is a repeatable flag whose values keep their commas, as linuxkit's (cobra's StringArray) do:
// `--ssh default=a,b` is one agent with two keys, and a file name may hold a comma. urfave's StringSliceFlag would
// split them.
type stringArray []string

func (a *stringArray) Set(v string) error { *a = append(*a, v); return nil }
func (a *stringArray) String() string     { return strings.Join(*a, " ") }

// stringArrayOf is the values of a stringArray flag of c (none when not given).
func stringArrayOf(c *cli.Context, name string) []string {
	if a, ok := c.Generic(name).(*stringArray); ok && a != nil {
		return *a
	}
	return nil
}
