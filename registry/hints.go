package registry

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
)

// connectionHint explains the two ways a registry is unreachable by configuration rather than by the network: a
// certificate lkpkg does not trust, and plain HTTP where HTTPS was expected. Both name the registry and the flag
// that fixes it; nil for any other error.
func connectionHint(ref string, err error) error {
	host := registryOf(ref)
	var cve *tls.CertificateVerificationError
	switch {
	case errors.As(err, &cve):
		return fmt.Errorf("%s: the TLS certificate of the registry %s is not trusted (%w): pass its CA certificate "+
			"with --cert-file <ca.pem>, or, to skip verification, mark the registry insecure with --insecure-registry %s "+
			"(or insecure = true in registries.conf)", ref, host, cve.Err, host)
	case errors.Is(err, http.ErrSchemeMismatch):
		return fmt.Errorf("%s: the registry %s answers in plain HTTP, not HTTPS: if that is intended, mark it "+
			"insecure with --insecure-registry %s (or insecure = true in registries.conf)", ref, host, host)
	}
	return nil
}

// loginOf says who was refused, so a wrong password reads differently from a missing login.
func (p *Remote) loginOf(host string) string {
	if p.Creds == nil {
		return "without a login"
	}
	switch ac, err := p.Creds.Lookup(host); {
	case err != nil:
		return "without a login"
	case ac.Username != "":
		return fmt.Sprintf("to user %q", ac.Username)
	case ac.IdentityToken != "" || ac.RegistryToken != "":
		return "to the token login"
	}
	return "without a login"
}
