package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
)

// PEM block types of cosign's encrypted private keys: cosign ≥ 2 writes the SIGSTORE one, older versions the COSIGN
// one; both hold PKCS #8 DER encrypted by go-securesystemslib/encrypted (scrypt + NaCl secretbox, as JSON).
const (
	sigstorePrivateKeyType = "ENCRYPTED SIGSTORE PRIVATE KEY"
	cosignPrivateKeyType   = "ENCRYPTED COSIGN PRIVATE KEY"
	publicKeyType          = "PUBLIC KEY"
)

// ErrWrongPassword is returned when a private key does not decrypt with the password given.
var ErrWrongPassword = errors.New("the private key does not decrypt with this password (COSIGN_PASSWORD)")

// loadOptions are cosign's: Ed25519 keys sign in the pre-hashed (ph) variant, so a key cosign uses verifies the
// same way here.
var loadOptions = []signature.LoadOption{options.WithED25519ph()}

// GenerateKeyPair makes an ECDSA P-256 key pair, cosign's default, as cosign writes it: the private key encrypted
// with password (empty is allowed, as in cosign) and the public key, both PEM.
func GenerateKeyPair(password []byte) (privatePEM, publicPEM []byte, err error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, err
	}
	enc, err := encrypted.Encrypt(der, password)
	if err != nil {
		return nil, nil, err
	}
	publicPEM, err = cryptoutils.MarshalPublicKeyToPEM(priv.Public())
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: sigstorePrivateKeyType, Bytes: enc}), publicPEM, nil
}

// PrivateKey is a loaded signing key.
type PrivateKey struct {
	signer signature.SignerVerifier
	public crypto.PublicKey
	hint   []byte
	alg    signature.AlgorithmDetails
}

// ParsePrivateKey decrypts a cosign private key (PEM) with password.
func ParsePrivateKey(pemBytes, password []byte) (*PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("not a PEM file; expected a cosign private key (ENCRYPTED SIGSTORE PRIVATE KEY)")
	}
	if block.Type != sigstorePrivateKeyType && block.Type != cosignPrivateKeyType {
		return nil, fmt.Errorf("PEM block %q is not a cosign private key (ENCRYPTED SIGSTORE PRIVATE KEY); make one "+
			"with `lkpkg key generate` or `cosign generate-key-pair`", block.Type)
	}
	der, err := encrypted.Decrypt(block.Bytes, password)
	if err != nil {
		if strings.Contains(err.Error(), "decryption failed") {
			return nil, ErrWrongPassword
		}
		return nil, fmt.Errorf("decrypting the private key: %w", err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parsing the private key: %w", err)
	}
	signer, err := signature.LoadDefaultSignerVerifier(priv, loadOptions...)
	if err != nil {
		return nil, fmt.Errorf("unsupported private key: %w", err)
	}
	public, err := signer.PublicKey()
	if err != nil {
		return nil, err
	}
	hint, err := keyHint(public)
	if err != nil {
		return nil, err
	}
	alg, err := signature.GetDefaultAlgorithmDetails(public, loadOptions...)
	if err != nil {
		return nil, fmt.Errorf("unsupported private key: %w", err)
	}
	return &PrivateKey{signer: signer, public: public, hint: hint, alg: alg}, nil
}

// LoadPrivateKey reads and decrypts the cosign private key file path.
func LoadPrivateKey(path string, password []byte) (*PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	k, err := ParsePrivateKey(b, password)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	return k, nil
}

// keyHint is how cosign names a key in a bundle: base64 of the SHA-256 of its PKIX DER.
func keyHint(public crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(public)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return []byte(base64.StdEncoding.EncodeToString(sum[:])), nil
}

// Public is the key's public half, for verifying what it signed.
func (k *PrivateKey) Public() *PublicKey {
	return &PublicKey{verifier: k.signer, public: k.public, hint: string(k.hint)}
}

// SignData signs data, hashing it first with the key's hash (none for pure Ed25519); it returns the signature and
// the digest signed.
func (k *PrivateKey) SignData(ctx context.Context, data []byte) ([]byte, []byte, error) {
	opts := []signature.SignOption{options.WithContext(ctx)}
	var digest []byte
	if h := k.alg.GetHashType(); h != 0 {
		hasher := h.New()
		hasher.Write(data)
		digest = hasher.Sum(nil)
		opts = append(opts, options.WithDigest(digest))
	}
	sig, err := k.signer.SignMessage(bytes.NewReader(data), opts...)
	return sig, digest, err
}

// PublicKey verifies signatures of one key.
type PublicKey struct {
	verifier signature.Verifier
	public   crypto.PublicKey
	hint     string
}

// ParsePublicKey reads a PEM public key (PKIX, as cosign.pub).
func ParsePublicKey(pemBytes []byte) (*PublicKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("not a PEM file; expected a public key (cosign.pub)")
	}
	if block.Type != publicKeyType {
		return nil, fmt.Errorf("PEM block %q is not a public key (PUBLIC KEY); pass the .pub file, not the private key", block.Type)
	}
	public, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing the public key: %w", err)
	}
	verifier, err := signature.LoadDefaultVerifier(public, loadOptions...)
	if err != nil {
		return nil, fmt.Errorf("unsupported public key: %w", err)
	}
	hint, err := keyHint(public)
	if err != nil {
		return nil, err
	}
	return &PublicKey{verifier: verifier, public: public, hint: string(hint)}, nil
}

// LoadPublicKey reads the public key file path.
func LoadPublicKey(path string) (*PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	k, err := ParsePublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", path, err)
	}
	return k, nil
}

// Hint names the key as bundles do (base64 of the SHA-256 of its PKIX DER).
func (k *PublicKey) Hint() string { return k.hint }
