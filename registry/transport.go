package registry

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// hostTransport sends requests for insecure hosts through a transport that does not verify certificates (those
// hosts may also be reached over plain HTTP), and every other request through one that trusts the system CAs plus
// the extra ones lkpkg was given (--cert-file, a buildkitd.toml's ca). The secure transport is made on first use:
// loading the system's CAs costs a build that never touches the network about a fifth of its time.
type hostTransport struct {
	insecure      http.RoundTripper
	insecureHosts map[string]bool
	extraCAs      [][]byte // PEM, already checked to hold certificates

	secureOnce sync.Once
	secure     http.RoundTripper
}

func (t *hostTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	host := r.URL.Host
	hostname, _, err := net.SplitHostPort(host)
	if err != nil {
		hostname = host
	}
	if t.insecureHosts[host] || t.insecureHosts[hostname] {
		return t.insecure.RoundTrip(r)
	}
	t.secureOnce.Do(func() {
		t.secure = timedTransport(&tls.Config{RootCAs: rootsWith(t.extraCAs), MinVersion: tls.VersionTLS12})
	})
	return t.secure.RoundTrip(r)
}

// rootsWith is the system's CAs plus extra; nil (the system's, loaded by crypto/tls) when there are no extras.
func rootsWith(extra [][]byte) *x509.CertPool {
	if len(extra) == 0 {
		return nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	for _, pem := range extra {
		pool.AppendCertsFromPEM(pem)
	}
	return pool
}

// newHostTransport trusts caFiles (PEM) in addition to the system's CAs, for every registry, as linuxkit's
// --cert-file does. The files are read and checked now, so a wrong path fails before any work.
func newHostTransport(insecureHosts map[string]bool, caFiles []string) (*hostTransport, error) {
	extraCAs, err := readCAs(caFiles)
	if err != nil {
		return nil, err
	}
	return &hostTransport{insecureHosts: insecureHosts, extraCAs: extraCAs,
		insecure: timedTransport(&tls.Config{InsecureSkipVerify: true})}, nil //nolint:gosec // only for hosts marked insecure
}

// readCAs reads PEM CA certificate files, each of which must hold at least one certificate.
func readCAs(caFiles []string) ([][]byte, error) {
	var out [][]byte
	for _, f := range caFiles {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("CA certificate: %w", err)
		}
		if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA certificate %s: no PEM certificate in it", f)
		}
		out = append(out, pem)
	}
	return out, nil
}

// responseHeaderTimeout is how long a registry may take to start answering a request it has been sent in full. It
// is generous because committing a large blob (PUT ?digest=) makes some registries hash or copy it first; it only
// has to catch a connection that went silent, which is then retried.
const responseHeaderTimeout = 3 * time.Minute

// timedTransport bounds each step that can hang on a dead network (dialling, the TLS handshake, waiting for the
// answer) but sets no overall deadline, which would cut off large uploads and downloads; TCP keep-alives find
// a peer that vanished mid-transfer.
func timedTransport(tlsConfig *tls.Config) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = responseHeaderTimeout
	t.ExpectContinueTimeout = time.Second
	t.IdleConnTimeout = 90 * time.Second
	t.MaxIdleConnsPerHost = 16 // go-containerregistry uploads several blobs at once; keep their connections
	t.TLSClientConfig = tlsConfig
	return t
}
