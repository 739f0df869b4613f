package main

import (
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/lkpkg/lkpkg/frontend"
	"github.com/lkpkg/lkpkg/registry"
)

func cachePull(c *cli.Context) error {
	if c.NArg() < 1 {
		return errors.New("cache pull needs at least one image name")
	}
	cache, err := openCache(c)
	if err != nil {
		return err
	}
	remote, err := newRemote(c)
	if err != nil {
		return err
	}
	puller := &registry.Puller{Remote: remote}
	for _, name := range c.Args().Slice() {
		if err := puller.PullWithArchNames(c.Context, cache, frontend.ExpandReferenceWithTag(name)); err != nil {
			return err
		}
	}
	return nil
}
