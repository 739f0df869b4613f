package sign

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteKeyPair(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "cosign")
	priv, pub, err := WriteKeyPair(prefix, []byte("pw"), false)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(priv); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key %s: %v, %v; want mode 0600", priv, fi, err)
	}
	first, err := os.ReadFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPrivateKey(priv, []byte("pw")); err != nil {
		t.Fatalf("the written key does not load: %v", err)
	}
	if _, err := LoadPublicKey(pub); err != nil {
		t.Fatalf("the written public key does not load: %v", err)
	}

	// Without force, an existing file stays as it was.
	if _, _, err := WriteKeyPair(prefix, []byte("pw"), false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("second write without force: %v, want an error naming --force", err)
	}
	if again, _ := os.ReadFile(pub); string(again) != string(first) {
		t.Fatal("the public key changed without --force")
	}
	if _, _, err := WriteKeyPair(prefix, []byte("pw"), true); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(pub); string(again) == string(first) {
		t.Fatal("--force did not replace the key pair")
	}
	if left, _ := filepath.Glob(prefix + "*.tmp"); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}
