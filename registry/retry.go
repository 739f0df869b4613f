package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// RetryPolicy says how lkpkg retries registry requests that failed in a way that may pass: a connection reset,
// refused mid-way or cut short (EOF), a timeout, HTTP 408, 429, 500, 502, 503 or 504. Pushes and pulls share it, applied at
// three levels, each where a retry is safe:
//
//   - go-containerregistry retries a request without a body to send again (GET, HEAD, the token request) as it
//     is, with this policy's backoff, predicate and status codes;
//   - it restarts a whole blob upload (HEAD, POST, PATCH, PUT ?digest=) or manifest PUT, never a half-sent body:
//     a PATCH body is a stream, so only a fresh upload session with the blob read again from the cache is safe;
//   - lkpkg itself restarts a download (a manifest, a blob into the cache) whose response was cut off mid-way,
//     which neither of the others sees (the response had already arrived).
//
// A Retry-After (seconds or an HTTP date) on a 429 or 50x is honoured, up to MaxRetryAfter: retryTransport holds
// every later request to that registry until then. 401, 403, 404 and other client errors are never retried.
type RetryPolicy struct {
	Attempts      int           // tries in all, the first included
	Base          time.Duration // wait before the second try; it doubles for each further one, plus up to 50% jitter
	MaxRetryAfter time.Duration // the longest a registry's Retry-After may hold requests back
}

// retryBaseEnv shortens Base. It exists ONLY for lkpkg's own fault-injection tests (e2e/fault_test.go), so that
// five attempts take milliseconds; it is deliberately not documented for users.
const retryBaseEnv = "LKPKG_RETRY_BASE"

// DefaultRetryPolicy is 5 attempts waiting about 1, 2, 4 and 8 s in between (~15 s, at most ~23 s with jitter),
// and a Retry-After honoured up to a minute.
func DefaultRetryPolicy() RetryPolicy {
	p := RetryPolicy{Attempts: 5, Base: time.Second, MaxRetryAfter: time.Minute}
	if d, err := time.ParseDuration(os.Getenv(retryBaseEnv)); err == nil && d > 0 {
		p.Base = d
	}
	return p
}

// orDefault fills in what a zero RetryPolicy (a Remote made without NewRemote) leaves out.
func (rp RetryPolicy) orDefault() RetryPolicy {
	if rp.Attempts < 1 {
		return DefaultRetryPolicy()
	}
	return rp
}

// backoff is the policy in go-containerregistry's terms: Steps bounds the attempts, not only the growth.
func (rp RetryPolicy) backoff() remote.Backoff {
	return remote.Backoff{Duration: rp.Base, Factor: 2, Jitter: 0.5, Steps: rp.Attempts}
}

// options make go-containerregistry retry with this policy, at the request and the upload level.
func (rp RetryPolicy) options() []remote.Option {
	return []remote.Option{remote.WithRetryBackoff(rp.backoff()), remote.WithRetryPredicate(retryable),
		remote.WithRetryStatusCodes(retryStatusCodes...)}
}

// retryStatusCodes are the answers that say "not now" rather than "no".
var retryStatusCodes = []int{http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
	http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}

func isRetryStatus(code int) bool {
	for _, c := range retryStatusCodes {
		if c == code {
			return true
		}
	}
	return false
}

// retryable says whether a failed request or upload may succeed if tried again.
func retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, errBodyNotRewindable) {
		return false
	}
	var te *transport.Error
	if errors.As(err, &te) {
		if te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden {
			return false
		}
		// DIGEST_INVALID: the registry hashed other bytes than the cache's blob, so they were damaged on the
		// way; a restarted upload reads the blob from the cache again.
		for _, d := range te.Errors {
			if d.Code == transport.DigestInvalidErrorCode {
				return true
			}
		}
		return isRetryStatus(te.StatusCode) || te.Temporary()
	}
	return isNetworkFailure(err)
}

// isNetworkFailure is a connection reset, aborted, closed or cut short, or a timeout. A refused connection is not:
// nothing listens there, and waiting ~15 s before saying so helps no one.
func isNetworkFailure(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// interruptedTransfer is a response body that failed mid-way: the request had succeeded, so no request-level
// retry saw it, and only restarting the download (Remote.again) helps.
type interruptedTransfer struct{ err error }

func (e *interruptedTransfer) Error() string { return "transfer interrupted: " + e.err.Error() }
func (e *interruptedTransfer) Unwrap() error { return e.err }

// transferBody marks its network failures as interruptedTransfer.
type transferBody struct{ io.ReadCloser }

func (b transferBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && isNetworkFailure(err) {
		err = &interruptedTransfer{err}
	}
	return n, err
}

// again runs op, restarting it while it fails with an interrupted transfer, up to the policy's attempts.
func (p *Remote) again(ctx context.Context, op func() error) error {
	rp := p.Retry.orDefault()
	b := rp.backoff()
	for attempt := 1; ; attempt++ {
		err := op()
		var it *interruptedTransfer
		if err == nil || !errors.As(err, &it) || attempt >= rp.Attempts {
			return err
		}
		if sleepCtx(ctx, b.Step()) != nil {
			return err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errBodyNotRewindable stops a second send of a request whose body was a one-shot stream: it would go out
// half-read. Such an operation can only be restarted from the top.
var errBodyNotRewindable = errors.New("the request body cannot be sent again (not rewindable)")

// retryTransport sits under go-containerregistry's retries and adds what they lack: it honours Retry-After, sends
// every attempt of a request a fresh body (req.GetBody) and refuses to resend one it cannot rewind, marks
// response bodies cut off mid-way, and counts consecutive failures of each request for error messages.
type retryTransport struct {
	inner   http.RoundTripper
	policy  RetryPolicy
	wait    func(ctx context.Context, d time.Duration) error // sleepCtx; tests record instead
	notices io.Writer                                        // a line per failure that will be retried; nil: none

	mu        sync.Mutex
	notBefore map[string]time.Time // per host: no request before this (a Retry-After)
	failures  map[string]int       // "METHOD URL": consecutive failed attempts
	sentOnce  sync.Map             // requests with a one-shot body, already sent
}

func newRetryTransport(inner http.RoundTripper, rp RetryPolicy, notices io.Writer) *retryTransport {
	return &retryTransport{inner: inner, policy: rp.orDefault(), wait: sleepCtx, notices: notices,
		notBefore: map[string]time.Time{}, failures: map[string]int{}}
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.waitTurn(req); err != nil {
		closeBody(req)
		return nil, err
	}
	out, err := t.freshBody(req)
	if err != nil {
		return nil, err
	}
	resp, err := t.inner.RoundTrip(out)
	t.record(out, resp, err)
	if resp != nil && resp.Body != nil && resp.Body != http.NoBody {
		resp.Body = transferBody{resp.Body}
	}
	return resp, err
}

// waitTurn holds the request back until the Retry-After of its host has passed.
func (t *retryTransport) waitTurn(req *http.Request) error {
	t.mu.Lock()
	until := t.notBefore[req.URL.Host]
	t.mu.Unlock()
	if d := time.Until(until); d > 0 {
		return t.wait(req.Context(), d)
	}
	return nil
}

// freshBody returns req with a body never read: from GetBody when it has one. go-containerregistry sends the very
// same *http.Request again on a retry, whose body the first attempt consumed.
func (t *retryTransport) freshBody(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	if req.GetBody == nil {
		if _, sent := t.sentOnce.LoadOrStore(req, true); sent {
			closeBody(req)
			return nil, errBodyNotRewindable
		}
		return req, nil
	}
	body, err := req.GetBody()
	if err != nil {
		closeBody(req)
		return nil, err
	}
	closeBody(req)
	out := req.Clone(req.Context())
	out.Body = body
	return out, nil
}

// record notes a Retry-After, counts the request's consecutive failures and says when one will be retried, so a
// user watching a slow push knows why it waits.
func (t *retryTransport) record(req *http.Request, resp *http.Response, err error) {
	key := req.Method + " " + req.URL.String()
	failed := (err != nil && retryable(err)) || (resp != nil && isRetryStatus(resp.StatusCode))
	t.mu.Lock()
	defer t.mu.Unlock()
	if !failed {
		delete(t.failures, key)
		return
	}
	t.failures[key]++
	var wait time.Duration
	if resp != nil {
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			wait = min(d, t.policy.MaxRetryAfter)
			if until := time.Now().Add(wait); until.After(t.notBefore[req.URL.Host]) {
				t.notBefore[req.URL.Host] = until
			}
		}
	}
	t.notify(req, resp, err, t.failures[key], wait)
}

// notify writes one line about a failure that is to be retried (the last one is the operation's error).
func (t *retryTransport) notify(req *http.Request, resp *http.Response, err error, failures int, wait time.Duration) {
	if t.notices == nil || failures >= t.policy.Attempts {
		return
	}
	what := ""
	if resp != nil {
		what = "answered " + resp.Status
	} else {
		what = "failed: " + err.Error()
	}
	after := ""
	if wait > 0 {
		after = " after " + wait.String() + " (Retry-After)"
	}
	fmt.Fprintf(t.notices, "registry %s %s to %s %s; retrying%s (failure %d of at most %d)\n",
		req.URL.Host, what, req.Method, req.URL.Path, after, failures, t.policy.Attempts)
}

// attempts is how many times in a row the request method url has failed.
func (t *retryTransport) attempts(method, rawURL string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failures[strings.ToUpper(method)+" "+rawURL]
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date (RFC 9110 10.2.3), as a wait from now.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second, true
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d := at.Sub(now); d > 0 {
		return d, true
	}
	return 0, true
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// failedAttempts is how many times in a row the request behind err failed, as retryTransport counted; 0 when
// unknown.
func (p *Remote) failedAttempts(err error) int {
	rt, ok := p.transport.(*retryTransport)
	if !ok {
		return 0
	}
	var te *transport.Error
	if errors.As(err, &te) && te.Request != nil {
		return rt.attempts(te.Request.Method, te.Request.URL.String())
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return rt.attempts(ue.Op, ue.URL)
	}
	return 0
}
