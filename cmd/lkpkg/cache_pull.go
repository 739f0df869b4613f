package main

import (
	"github.com/urfave/cli/v2"

	"github.com/lkpkg/lkpkg/frontend"
	"github.com/lkpkg/lkpkg/registry"
)

func cachePull(c *cli.Context) error {
	if c.NArg() < 1 {
		return cli.Exit("cache pull needs at least one image name", 2)
	}
	cache, err := openCache(c)
	if err != nil {
		return err
	}
	creds, err := registry.LoadCredentials(c.StringSlice("registry-creds"))
	if err != nil {
		return err
	}
	certFiles := flagStrings(c, "cert-file")
	hosts, err := registry.Hosts(registry.HostsOptions{Insecure: c.StringSlice("insecure-registry"), CertFiles: certFiles})
	if err != nil {
		return err
	}
	puller := registry.NewPuller(creds, hosts)
	if err := puller.TrustCAs(certFiles...); err != nil {
		return err
	}
	for _, name := range c.Args().Slice() {
		if err := puller.PullWithArchNames(c.Context, cache, frontend.ExpandReferenceWithTag(name)); err != nil {
			return err
		}
	}
	return nil
}
