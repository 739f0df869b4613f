package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/lkpkg/lkpkg/frontend"
	"github.com/lkpkg/lkpkg/registry/sign"
)

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "check that images in a registry carry a signature made with a key (cosign-compatible, no transparency log)",
		ArgsUsage: "<image reference>...",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "key", Required: true, Usage: "public key file (cosign.pub)"},
			registryCredsFlag(),
			insecureRegistryFlag(),
		},
		Action: verify,
	}
}

func verify(c *cli.Context) error {
	if c.NArg() < 1 {
		return errors.New("verify needs at least one image reference")
	}
	key, err := sign.LoadPublicKey(c.String("key"))
	if err != nil {
		return err
	}
	remote, err := newRemote(c)
	if err != nil {
		return err
	}
	for _, ref := range c.Args().Slice() {
		v, err := remote.Verify(c.Context, frontend.ExpandReferenceWithTag(ref), key)
		if err != nil {
			return cli.Exit(fmt.Sprintf("verification failed: %v", err), 1)
		}
		for _, s := range v.Signatures {
			fmt.Fprintf(c.App.Writer, "Verified %s (%s): signed with key %s, statement %s over %s (signature %s)\n",
				v.Ref, v.Digest, s.KeyHint, s.PredicateType, s.Digest, s.Referrer)
		}
	}
	return nil
}
