package registry

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
)

func TestConnectionHint(t *testing.T) {
	untrusted := &url.Error{Op: "Get", URL: "https://reg.example:5000/v2/",
		Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}
	plain := &url.Error{Op: "Get", URL: "https://reg.example:5000/v2/", Err: http.ErrSchemeMismatch}
	for _, tc := range []struct {
		name string
		err  error
		want []string // nil: no hint
	}{
		{"untrusted certificate", untrusted, []string{"reg.example:5000/lk/p:1: the TLS certificate of the registry reg.example:5000 is not trusted",
			"certificate signed by unknown authority", "--cert-file", "--insecure-registry reg.example:5000"}},
		{"plain HTTP", plain, []string{"the registry reg.example:5000 answers in plain HTTP", "--insecure-registry reg.example:5000"}},
		{"other", errors.New("connection refused"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := connectionHint("reg.example:5000/lk/p:1", tc.err)
			if tc.want == nil {
				if got != nil {
					t.Fatalf("hint for %v: %v", tc.err, got)
				}
				return
			}
			if got == nil {
				t.Fatalf("no hint for %v", tc.err)
			}
			for _, w := range tc.want {
				if !strings.Contains(got.Error(), w) {
					t.Errorf("%q lacks %q", got, w)
				}
			}
		})
	}
}

func TestLoginOf(t *testing.T) {
	// Built directly: LoadCredentials would fix the docker config directory for the whole test binary.
	creds := &Credentials{explicit: map[string]types.AuthConfig{"reg.example:5000": {Username: "alice", Password: "pw"},
		"tok.example": {IdentityToken: "t"}}, docker: configfile.New("")}
	r := NewRemote(creds, nil)
	for host, want := range map[string]string{"reg.example:5000": `to user "alice"`, "tok.example": "to the token login",
		"other.example": "without a login"} {
		if got := r.loginOf(host); got != want {
			t.Errorf("loginOf(%s) = %q, want %q", host, got, want)
		}
	}
	if got := (&Remote{}).loginOf("reg.example:5000"); got != "without a login" {
		t.Errorf("no credentials at all: %q", got)
	}
}
