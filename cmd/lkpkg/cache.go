package main

import "github.com/urfave/cli/v2"

func cacheCommand() *cli.Command {
	published := &cli.BoolFlag{Name: "published-only", Usage: "only remove images the registry has with the same digest"}
	registryFlags := []cli.Flag{registryCredsFlag(), insecureRegistryFlag()}
	return &cli.Command{
		Name:  "cache",
		Usage: "manage the linuxkit cache (an OCI image layout)",
		Flags: []cli.Flag{cacheFlag()},
		Subcommands: []*cli.Command{
			{Name: "ls", Usage: "list images in the cache", Flags: []cli.Flag{cacheFlag()},
				Action: cacheLs},
			{Name: "rm", Usage: "remove images from the cache", ArgsUsage: "<name>...", Flags: append([]cli.Flag{cacheFlag(), published}, registryFlags...),
				Action: cacheRm},
			{Name: "clean", Usage: "empty the cache", Flags: append([]cli.Flag{cacheFlag(), published}, registryFlags...),
				Action: cacheClean},
			{Name: "export", Usage: "export an image from the cache", ArgsUsage: "<name>", Flags: []cli.Flag{cacheFlag(),
				&cli.StringFlag{Name: "platform", Usage: "platform to export (default linux/<host arch>)"},
				&cli.StringFlag{Name: "outfile", Usage: "output file, - for stdout"},
				&cli.StringFlag{Name: "format", Value: "oci", Usage: "oci, docker or filesystem"},
				&cli.StringFlag{Name: "name", Usage: "reference name to give the exported image"}},
				Action: cacheExport},
			{Name: "import", Usage: "import an OCI tar into the cache", ArgsUsage: "<file|->", Flags: []cli.Flag{cacheFlag()},
				Action: cacheImport},
			{Name: "pull", Usage: "pull images (every platform) into the cache", ArgsUsage: "<name>...", Flags: []cli.Flag{cacheFlag(),
				registryCredsFlag(), insecureRegistryFlag()},
				Action: cachePull},
			{Name: "push", Usage: "push images from the cache", ArgsUsage: "<name>...", Flags: []cli.Flag{cacheFlag(),
				&cli.StringFlag{Name: "remote-name", Usage: "push under this name"},
				&cli.BoolFlag{Name: "with-arch-tags", Usage: "also push <tag>-<arch> tags"},
				&cli.BoolFlag{Name: "override", Usage: "overwrite an existing remote tag"},
				registryCredsFlag(), insecureRegistryFlag()},
				Action: cachePush},
		},
	}
}
