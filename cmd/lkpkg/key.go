package main

import (
	"errors"
	"fmt"
	"io/fs"
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
	prefix := c.String("output-key-prefix")
	privFile, pubFile := prefix+".key", prefix+".pub"
	if !c.Bool("force") {
		for _, f := range []string{privFile, pubFile} {
			if _, err := os.Lstat(f); err == nil {
				return cli.Exit(fmt.Sprintf("%s exists; not overwriting it (--force replaces it)", f), 1)
			}
		}
	}
	password, set := os.LookupEnv(passwordEnv)
	if !set {
		fmt.Fprintf(c.App.ErrWriter, "%s is not set: the private key is encrypted with an empty password\n", passwordEnv)
	}
	privPEM, pubPEM, err := sign.GenerateKeyPair([]byte(password))
	if err != nil {
		return err
	}
	if err := writeKeyFile(privFile, privPEM, 0o600, c.Bool("force")); err != nil {
		return err
	}
	if err := writeKeyFile(pubFile, pubPEM, 0o644, c.Bool("force")); err != nil {
		return err
	}
	fmt.Fprintf(logsFor(c).Info, "Private key written to %s\nPublic key written to %s\n", privFile, pubFile)
	return nil
}

// writeKeyFile writes data to a temporary file beside name and renames it into place, so a key file is never
// half written; without force an existing name is never replaced.
func writeKeyFile(name string, data []byte, mode fs.FileMode, force bool) error {
	tmp := name + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && !force {
		err = os.Link(tmp, name) // fails if name appeared meanwhile
		if err == nil {
			err = os.Remove(tmp)
		}
	} else if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
		if errors.Is(err, fs.ErrExist) {
			return cli.Exit(fmt.Sprintf("%s exists; not overwriting it (--force replaces it)", name), 1)
		}
		return err
	}
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
