package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1", time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"0", 0, true},
		{"99999999999", 24 * time.Hour, true}, // absurd values are bounded before the policy's own cap
		{"-3", 0, false},
		{"", 0, false},
		{"soon", 0, false},
		{"1.5", 0, false},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},                                 // in the past: now
		{now.Add(90 * time.Second).Format(time.RFC850), 90 * time.Second, true},                // obsolete date form
		{"Sat, 01 Mar 2025 12:00:10 +0100", 0, false},                                          // not an HTTP date
		{now.Add(10 * time.Second).Format("Mon Jan _2 15:04:05 2006"), 10 * time.Second, true}, // asctime
	} {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestRetryable(t *testing.T) {
	opErr := func(errno syscall.Errno) error {
		return &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", errno)}
	}
	status := func(code int, diag ...transport.ErrorCode) error {
		e := &transport.Error{StatusCode: code}
		for _, d := range diag {
			e.Errors = append(e.Errors, transport.Diagnostic{Code: d})
		}
		return e
	}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"connection reset", opErr(syscall.ECONNRESET), true},
		{"reset inside url.Error", &url.Error{Op: "Patch", URL: "http://r/v2/x", Err: opErr(syscall.ECONNRESET)}, true},
		{"broken pipe", opErr(syscall.EPIPE), true},
		{"EOF", io.EOF, true},
		{"unexpected EOF", fmt.Errorf("reading: %w", io.ErrUnexpectedEOF), true},
		{"timeout", &url.Error{Op: "Get", URL: "http://r/v2/", Err: timeoutErr{}}, true},
		{"interrupted transfer", &interruptedTransfer{io.ErrUnexpectedEOF}, true},
		{"connection refused", opErr(syscall.ECONNREFUSED), false},
		{"canceled", context.Canceled, false},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), false},
		{"body not rewindable", errBodyNotRewindable, false},
		{"other", errors.New("manifest does not parse"), false},
		{"HTTP 500", status(500), true},
		{"HTTP 502", status(502), true},
		{"HTTP 503", status(503), true},
		{"HTTP 504", status(504), true},
		{"HTTP 429", status(429, transport.TooManyRequestsErrorCode), true},
		{"HTTP 408", status(408), true},
		{"HTTP 401", status(401, transport.UnauthorizedErrorCode), false},
		{"HTTP 403", status(403, transport.DeniedErrorCode), false},
		{"HTTP 404", status(404, transport.ManifestUnknownErrorCode), false},
		{"HTTP 400 digest mismatch", status(400, transport.DigestInvalidErrorCode), true},
		{"HTTP 400 manifest invalid", status(400, transport.ManifestInvalidErrorCode), false},
	} {
		if got := retryable(tc.err); got != tc.want {
			t.Errorf("%s: retryable(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

// faultServer answers /v2/ with 200 and every other request with answer(n, w, r), n counting those requests.
func faultServer(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) (host string, count func() int) {
	t.Helper()
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		mu.Lock()
		n++
		i := n
		mu.Unlock()
		answer(i, w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), func() int { mu.Lock(); defer mu.Unlock(); return n }
}

// fastRemote retries attempts times without waiting, recording the waits a Retry-After asks for. A failure is
// taken for the registry's (down), not the link's: after it a GET /v2/ is not asked, as a registry that is down
// might still answer it.
func fastRemote(attempts int) (*Remote, *[]time.Duration) {
	r := NewRemote(nil, nil)
	r.Retry = RetryPolicy{Attempts: attempts, Base: time.Microsecond, MaxRetryAfter: time.Minute}
	r.transport, r.transportErr = r.newTransport()
	r.transport.(*retryTransport).ask = func(context.Context, string, string) bool { return false }
	var waits []time.Duration
	r.transport.(*retryTransport).wait = func(_ context.Context, d time.Duration) error {
		waits = append(waits, d)
		return nil
	}
	return &r, &waits
}

func TestRetriesAreBoundedAndExplained(t *testing.T) {
	host, count := faultServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	})
	p, _ := fastRemote(4)
	ref, err := p.parse(host + "/lk/p:1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.head(context.Background(), ref)
	if err == nil {
		t.Fatal("a registry answering 503 to everything: no error")
	}
	if count() != 4 {
		t.Errorf("%d requests, want 4 (the policy's attempts)", count())
	}
	for _, want := range []string{host, "HTTP 503 Service Unavailable", "4 attempts in a row", "HEAD", "/v2/lk/p/manifests/1", "try again later"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

// Every failure that will be retried is reported as it happens; the last one is left to the operation's error.
func TestRetriesAreReported(t *testing.T) {
	host, _ := faultServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.Header().Set("Retry-After", "2")
		}
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	})
	p, _ := fastRemote(3)
	var notices bytes.Buffer
	p.transport.(*retryTransport).notices = &notices
	ref, err := p.parse(host + "/lk/p:1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.head(context.Background(), ref); err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(strings.TrimSpace(notices.String()), "\n")
	want := []string{
		"registry " + host + " answered 503 Service Unavailable to HEAD /v2/lk/p/manifests/1; retrying after 2s (Retry-After) (failure 1 of at most 3)",
		"registry " + host + " answered 503 Service Unavailable to HEAD /v2/lk/p/manifests/1; retrying (failure 2 of at most 3)",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("notices:\n%s\nwant:\n%s", notices.String(), strings.Join(want, "\n"))
	}
}

func TestRetryAfterIsHonouredAndCapped(t *testing.T) {
	for _, tc := range []struct {
		retryAfter string
		want       time.Duration // the wait asked for, give or take the time the test takes
	}{
		{"7", 7 * time.Second},
		{"86400", time.Minute}, // capped at MaxRetryAfter
		{time.Now().Add(20 * time.Second).UTC().Format(http.TimeFormat), 20 * time.Second},
	} {
		host, count := faultServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
			if n == 1 {
				w.Header().Set("Retry-After", tc.retryAfter)
				http.Error(w, `{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}`, http.StatusTooManyRequests)
				return
			}
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Header().Set("Docker-Content-Digest", "sha256:"+strings.Repeat("a", 64))
			w.Header().Set("Content-Length", "10")
		})
		p, waits := fastRemote(5)
		ref, _ := p.parse(host + "/lk/p:1")
		d, err := p.head(context.Background(), ref)
		if err != nil || d == nil {
			t.Fatalf("Retry-After %s: %v %v", tc.retryAfter, d, err)
		}
		if count() != 2 || len(*waits) != 1 {
			t.Fatalf("Retry-After %s: %d requests, waits %v; want 2 requests, one wait", tc.retryAfter, count(), *waits)
		}
		if w := (*waits)[0]; w > tc.want || w < tc.want-2*time.Second {
			t.Errorf("Retry-After %s: waited %v, want about %v", tc.retryAfter, w, tc.want)
		}
	}
}

// A request that fails while the registry answers others (a lossy link) is sent again past the policy's
// attempts, up to its lossy bound; the same failures while the registry answers nothing end after the attempts.
func TestLossyLinkIsRetriedWhileTheRegistryAnswers(t *testing.T) {
	for _, tc := range []struct {
		name         string
		down         bool // GET /v2/ gets no answer either
		failures     int  // the manifest request fails this many times, then gets an answer (404)
		wantRequests int
		wantErr      bool
	}{
		{"lossy, passes after more failures than the attempts", false, 7, 8, false},
		// The lossy bound (12) for the first of go-containerregistry's attempts, one request each for its others.
		{"lossy, never passes: ends at the lossy bound", false, 100, 14, true},
		{"down: ends after the attempts", true, 7, 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host, count := faultServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
				if n <= tc.failures {
					http.Error(w, "flaky", http.StatusInternalServerError)
					return
				}
				http.Error(w, "no such manifest", http.StatusNotFound)
			})
			p, _ := fastRemote(3)
			rt := p.transport.(*retryTransport)
			if !tc.down {
				rt.ask = rt.probe
			}
			ref, err := p.parse(host + "/lk/p:1")
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.head(context.Background(), ref)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want one: %v", err, tc.wantErr)
			}
			if got := count(); got != tc.wantRequests {
				t.Errorf("%d requests, want %d", got, tc.wantRequests)
			}
		})
	}
}

func TestUnauthorizedIsNotRetried(t *testing.T) {
	host, count := faultServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"errors":[{"code":"DENIED","message":"no"}]}`, http.StatusForbidden)
	})
	p, _ := fastRemote(5)
	ref, _ := p.parse(host + "/lk/p:1")
	_, err := p.head(context.Background(), ref)
	if err == nil || !strings.Contains(err.Error(), "refused access (HTTP 403)") || strings.Contains(err.Error(), "attempts") {
		t.Errorf("403: %v", err)
	}
	if count() != 1 {
		t.Errorf("403 was sent %d times, want once", count())
	}
}

// go-containerregistry sends the very same request again on a retry: retryTransport gives each attempt the whole
// body, and refuses a second attempt of a body it cannot rewind.
func TestRetryTransportResendsOnlyRewindableBodies(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	rt := newRetryTransport(http.DefaultTransport, RetryPolicy{Attempts: 3, Base: time.Millisecond}, nil)
	rt.ask = func(context.Context, string, string) bool { return false } // down: no resend of its own

	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/v2/x/manifests/1", bytes.NewReader([]byte("the manifest")))
	for i := 0; i < 2; i++ {
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if len(got) != 2 || got[0] != "the manifest" || got[1] != "the manifest" {
		t.Errorf("rewindable body: the server got %q, want it whole twice", got)
	}

	got = nil
	oneShot, _ := http.NewRequest(http.MethodPatch, srv.URL+"/v2/x/blobs/uploads/1", io.NopCloser(strings.NewReader("a stream")))
	resp, err := rt.RoundTrip(oneShot)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := rt.RoundTrip(oneShot); !errors.Is(err, errBodyNotRewindable) || retryable(err) {
		t.Errorf("second send of a one-shot body: %v, want errBodyNotRewindable (not retryable)", err)
	}
	if len(got) != 1 {
		t.Errorf("the one-shot body went out %d times", len(got))
	}
}

// A blob download cut off mid-way is restarted, and the cache gets the whole blob.
func TestPullRestartsInterruptedDownload(t *testing.T) {
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	var mu sync.Mutex
	cut := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		first := r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:") && !cut[r.URL.Path]
		if first {
			cut[r.URL.Path] = true
		}
		mu.Unlock()
		if !first {
			reg.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		reg.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body[:len(body)/2]) // the connection is dropped next either way
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drops the connection mid-body
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()

	src := newCache(t)
	img := addImage(t, src, "amd64", "interrupted", false)[0]
	if err := src.DescriptorWrite(host+"/lk/p:1", img); err != nil {
		t.Fatal(err)
	}
	pusher := &Pusher{Remote: NewRemote(nil, nil), Log: io.Discard}
	pusher.BlobInfoCacheDir = t.TempDir()
	if err := pusher.Push(ctx, src, host+"/lk/p:1", PushOptions{}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	cut = map[string]bool{}
	mu.Unlock()

	dst := newCache(t)
	p := &Puller{NewRemote(nil, nil)}
	p.Retry.Base = time.Millisecond
	root, err := p.Pull(ctx, dst, host+"/lk/p:1", "p")
	if err != nil {
		t.Fatal(err)
	}
	if root.Digest != img.Digest {
		t.Errorf("pulled %s, pushed %s", root.Digest, img.Digest)
	}
	m, err := dst.ReadManifest(img.Digest)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range append(m.Layers, m.Config) {
		if !dst.HasBlob(b.Digest) {
			t.Errorf("blob %s not in the cache", b.Digest)
		}
	}
	if len(cut) != 2 {
		t.Errorf("%d downloads were cut off, want 2 (config and layer)", len(cut))
	}
}
