package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/lkpkg/lkpkg/registry/sign"
)

// signKeyEnv names the signing key file when --sign-key is not given.
const signKeyEnv = "LKPKG_SIGN_KEY"

// passwordEnv holds the private key's password, as for cosign; unset means the empty password.
const passwordEnv = "COSIGN_PASSWORD"

func keyCommand() *cli.Command {
	return &cli.Command{
		Name:  "key",
		Usage: "manage signing keys (cosign's formats)",
		Subcommands: []*cli.Command{{
			Name:  "generate",
			Usage: "write a new key pair, <prefix>.key (encrypted with COSIGN_PASSWORD) and <prefix>.pub, as cosign generate-key-pair does",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "output-key-prefix", Value: "cosign", Usage: "file name prefix of the key pair"},
				&cli.BoolFlag{Name: "force", Usage: "overwrite existing key files"},
			},
			Action: keyGenerate,
		}},
	}
}

func keyGenerate(c *cli.Context) error {
	if c.NArg() != 0 {
		return errors.New("key generate takes no arguments")
	}
	password, set := os.LookupEnv(passwordEnv)
	privFile, pubFile, err := sign.WriteKeyPair(c.String("output-key-prefix"), []byte(password), c.Bool("force"))
	if err != nil {
		return err
	}
	if !set {
		fmt.Fprintf(c.App.ErrWriter, "%s is not set: the private key is encrypted with an empty password\n", passwordEnv)
	}
	fmt.Fprintf(logsFor(c).Info, "Private key written to %s\nPublic key written to %s\n", privFile, pubFile)
	return nil
}

// loadSignKey reads the cosign private key file with the password from COSIGN_PASSWORD.
func loadSignKey(file string) (*sign.PrivateKey, error) {
	key, err := sign.LoadPrivateKey(file, []byte(os.Getenv(passwordEnv)))
	if errors.Is(err, sign.ErrWrongPassword) {
		return nil, fmt.Errorf("%w: set %s to the password the key was made with", err, passwordEnv)
	}
	return key, err
}
