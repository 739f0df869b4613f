package sign

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// WriteKeyPair generates a key pair (GenerateKeyPair) and writes it to <prefix>.key (mode 0600) and <prefix>.pub,
// as cosign generate-key-pair does. Without force an existing file is never replaced: one found before the key is
// made, or one that appears while it is written, is an error naming it. Each file is written whole or not at all.
func WriteKeyPair(prefix string, password []byte, force bool) (privFile, pubFile string, err error) {
	privFile, pubFile = prefix+".key", prefix+".pub"
	if !force {
		for _, f := range []string{privFile, pubFile} {
			if _, err := os.Lstat(f); err == nil {
				return "", "", existsError(f)
			}
		}
	}
	privPEM, pubPEM, err := GenerateKeyPair(password)
	if err != nil {
		return "", "", err
	}
	if err := writeKeyFile(privFile, privPEM, 0o600, force); err != nil {
		return "", "", err
	}
	if err := writeKeyFile(pubFile, pubPEM, 0o644, force); err != nil {
		return "", "", err
	}
	return privFile, pubFile, nil
}

func existsError(name string) error {
	return fmt.Errorf("%s exists; not overwriting it (--force replaces it)", name)
}

// writeKeyFile writes data to a temporary file beside name and renames it into place, so a key file is never
// half written; without force it links instead, which never replaces a name that appeared meanwhile.
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
		err = os.Link(tmp, name)
		if err == nil {
			err = os.Remove(tmp)
		}
	} else if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		_ = os.Remove(tmp) // the error that stopped the write is the one to report
		if errors.Is(err, fs.ErrExist) {
			return existsError(name)
		}
		return err
	}
	return nil
}
