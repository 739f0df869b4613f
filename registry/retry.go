package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
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
//
// Attempts bounds the failures in a row of one request, blob or manifest while the registry answers nothing: it
// is down or out of reach. A lossy link is another matter: the registry answers other requests (or a GET /v2/
// asked right after the failure), and the failed one is tried again after Base, up to LossyAttempts() times in
// all, so a link that drops or refuses a share of the requests slows a push down without ending it.
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

// LossyAttempts bounds the tries of one request, blob or manifest that keeps failing while the registry answers
// others: a registry that answers /v2/ but refuses one upload for good ends the push after them.
func (rp RetryPolicy) LossyAttempts() int { return 4 * rp.Attempts }

// lossyWait is the pause before trying again something that failed while the registry answers: Base, plus up to
// 50% jitter so that requests failed together do not come back together.
func (rp RetryPolicy) lossyWait() time.Duration {
	return time.Duration(float64(rp.Base) * (1 + 0.5*rand.Float64()))
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
// response bodies cut off mid-way, and counts consecutive failures of each request for error messages. A request
// that fails while the registry answers (a lossy link) it sends again itself, up to the policy's LossyAttempts:
// go-containerregistry then sees, and counts against its Attempts, only failures while the registry answers
// nothing.
type retryTransport struct {
	inner   http.RoundTripper
	policy  RetryPolicy
	wait    func(ctx context.Context, d time.Duration) error    // sleepCtx; tests record instead
	notices io.Writer                                           // a line per failure that will be retried; nil: none
	ask     func(ctx context.Context, scheme, host string) bool // probe; tests stub it

	mu        sync.Mutex
	notBefore map[string]time.Time // per host: no request before this (a Retry-After)
	failures  map[string]int       // "METHOD URL": consecutive failed attempts
	silent    map[string]int       // "METHOD URL": of those, the ones while the registry answered nothing
	answered  map[string]int64     // per host: answers received so far (a success, a 401, a 404 …)
	schemes   map[string]string    // per host: the scheme of its last answer
	sentOnce  sync.Map             // requests with a one-shot body, already sent
}

func newRetryTransport(inner http.RoundTripper, rp RetryPolicy, notices io.Writer) *retryTransport {
	t := &retryTransport{inner: inner, policy: rp.orDefault(), wait: sleepCtx, notices: notices,
		notBefore: map[string]time.Time{}, failures: map[string]int{}, silent: map[string]int{},
		answered: map[string]int64{}, schemes: map[string]string{}}
	t.ask = t.probe
	return t
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	for {
		if err := t.waitTurn(req); err != nil {
			closeBody(req)
			return nil, err
		}
		answeredBefore := t.answers(req.URL.Host)
		out, err := t.freshBody(req)
		if err != nil {
			return nil, err
		}
		resp, err := t.inner.RoundTrip(out)
		failed, failures, retryAfter := t.record(out, resp, err)
		if failed && failures < t.policy.LossyAttempts() && rewindable(req) && req.Context().Err() == nil &&
			t.registryAnswers(req, answeredBefore) {
			t.notifyLossy(out, resp, err, failures)
			discard(resp)
			if err := t.wait(req.Context(), t.policy.lossyWait()); err != nil {
				return nil, err
			}
			continue
		}
		if failed {
			t.countSilent(out, resp, err, retryAfter)
		}
		if resp != nil && resp.Body != nil && resp.Body != http.NoBody {
			resp.Body = transferBody{resp.Body}
		}
		return resp, err
	}
}

// rewindable says whether req can be sent again as it is: it has no body, or one GetBody makes afresh.
func rewindable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

func discard(resp *http.Response) {
	if resp != nil && resp.Body != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
}

// answers is how many answers host has given so far.
func (t *retryTransport) answers(host string) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.answered[host]
}

// registryAnswers says whether the registry req went to answers at all, so that req's failure is the link's
// and not the registry's: it answered another request since req was sent, or answers a GET /v2/ now. A failed
// GET /v2/ is that question itself.
func (t *retryTransport) registryAnswers(req *http.Request, answeredBefore int64) bool {
	if t.answers(req.URL.Host) > answeredBefore {
		return true
	}
	if req.Method == http.MethodGet && req.URL.Path == "/v2/" {
		return false
	}
	return t.ask(req.Context(), req.URL.Scheme, req.URL.Host)
}

// probeTries and probeTimeout bound the GET /v2/ that asks whether a registry answers: two tries, as one may
// fail on the very link that is lossy.
const (
	probeTries   = 2
	probeTimeout = 10 * time.Second
)

// probe asks scheme://host/v2/ whether the registry answers: any status but a "not now" (429, 50x) is an answer,
// a 401 included.
func (t *retryTransport) probe(ctx context.Context, scheme, host string) bool {
	for range probeTries {
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		req, err := http.NewRequestWithContext(pctx, http.MethodGet, scheme+"://"+host+"/v2/", nil)
		if err != nil {
			cancel()
			return false
		}
		resp, err := t.inner.RoundTrip(req)
		answered := err == nil && !isRetryStatus(resp.StatusCode)
		discard(resp)
		cancel()
		if answered {
			t.noteAnswer(scheme, host)
			return true
		}
	}
	return false
}

// probeHost is probe for a host whose scheme is that of its last answer; when it has not answered yet, HTTPS and
// then HTTP are asked (the transport under this one reaches HTTP only for hosts allowed to use it).
func (t *retryTransport) probeHost(ctx context.Context, host string) bool {
	t.mu.Lock()
	scheme := t.schemes[host]
	t.mu.Unlock()
	if scheme != "" {
		return t.ask(ctx, scheme, host)
	}
	return t.ask(ctx, "https", host) || t.ask(ctx, "http", host)
}

func (t *retryTransport) noteAnswer(scheme, host string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.answered[host]++
	t.schemes[host] = scheme
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

// record notes an answer of the registry and a Retry-After, and counts the request's consecutive failures (all
// of them, returned).
func (t *retryTransport) record(req *http.Request, resp *http.Response, err error) (failed bool, failures int, retryAfter time.Duration) {
	key := req.Method + " " + req.URL.String()
	failed = (err != nil && retryable(err)) || (resp != nil && isRetryStatus(resp.StatusCode))
	t.mu.Lock()
	defer t.mu.Unlock()
	if resp != nil && !isRetryStatus(resp.StatusCode) {
		t.answered[req.URL.Host]++
		t.schemes[req.URL.Host] = req.URL.Scheme
	}
	if !failed {
		delete(t.failures, key)
		delete(t.silent, key)
		return false, 0, 0
	}
	t.failures[key]++
	if resp != nil {
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			retryAfter = min(d, t.policy.MaxRetryAfter)
			if until := time.Now().Add(retryAfter); until.After(t.notBefore[req.URL.Host]) {
				t.notBefore[req.URL.Host] = until
			}
		}
	}
	return true, t.failures[key], retryAfter
}

// countSilent counts a failure while the registry answered nothing, which go-containerregistry retries up to the
// policy's Attempts, and says when it will be, so a user watching a slow push knows why it waits.
func (t *retryTransport) countSilent(req *http.Request, resp *http.Response, err error, wait time.Duration) {
	key := req.Method + " " + req.URL.String()
	t.mu.Lock()
	t.silent[key]++
	n := t.silent[key]
	t.mu.Unlock()
	if t.notices == nil || n >= t.policy.Attempts {
		return
	}
	after := ""
	if wait > 0 {
		after = " after " + wait.String() + " (Retry-After)"
	}
	fmt.Fprintf(t.notices, "registry %s %s to %s %s; retrying%s (failure %d of at most %d)\n",
		req.URL.Host, failure(resp, err), req.Method, req.URL.Path, after, n, t.policy.Attempts)
}

// notifyLossy says that a request failed while the registry answers, and is sent again.
func (t *retryTransport) notifyLossy(req *http.Request, resp *http.Response, err error, failures int) {
	if t.notices == nil {
		return
	}
	fmt.Fprintf(t.notices, "registry %s %s to %s %s but answers others; retrying (failure %d of at most %d)\n",
		req.URL.Host, failure(resp, err), req.Method, req.URL.Path, failures, t.policy.LossyAttempts())
}

func failure(resp *http.Response, err error) string {
	if resp != nil {
		return "answered " + resp.Status
	}
	return "failed: " + err.Error()
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
