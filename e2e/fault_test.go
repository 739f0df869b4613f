package e2e

import (
	"context"
	"errors"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Fault-injection tests: pushes through proxies that reset connections, answer 503 or 429, damage uploads, lie
// about them, or stall until the process is killed. LKPKG_RETRY_BASE (a test-only setting) shortens the backoff so
// that five attempts take milliseconds.

var faultEnv = []string{"LKPKG_RETRY_BASE=10ms"}

// faultPkg builds a two-arch package named on host (a proxy in front of reg) and returns its env and tag.
func faultPkg(t *testing.T, host string) (*buildEnv, string) {
	t.Helper()
	e := newBuildEnv(t)
	e.pkg("pkg/p", "image: p\norg: "+host+"/lk\narches: [amd64, arm64]\n", pushDockerfile)
	e.mustBuild(nil, "--offline", "pkg/p") // the build is not what is tested: no registry look-up
	return e, e.tag("pkg/p")
}

// pushVia runs `lkpkg pkg push --nobuild` for the package with the registry's credentials given for host. A push
// that does not end within limit is killed and fails the test: a hang must not block the suite.
func (e *buildEnv) pushVia(t *testing.T, host string, limit time.Duration) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, lkpkgBin, "--cache", e.cache, "pkg", "push", "--nobuild", "--registry-creds",
		host+"="+regUser+":"+regPass, "pkg/p")
	cmd.Dir = e.repo.Dir
	cmd.Env = append(append(testEnv(), noCredsEnv(t)...), faultEnv...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("lkpkg pkg push did not end within %v (hung?):\n%s", limit, tail(stderr.String(), 20))
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stderr.String(), "panic:") {
		t.Fatalf("lkpkg panicked:\n%s", stderr.String())
	}
	return result{stdout.String(), stderr.String(), code}
}

// samePush checks, reading the registry directly (not through the proxy), that it holds exactly the cache's
// index and per-arch manifests.
func samePush(t *testing.T, e *buildEnv, reg *pushRegistry, proxyHost, tag string) {
	t.Helper()
	direct := strings.Replace(tag, proxyHost, reg.host, 1)
	if got, want := reg.digest(t, direct), e.rawDigest(tag); got != want {
		t.Fatalf("the registry's index is %q, the cache's %s", got, want)
	}
	children := reg.index(t, direct) // also validates every child, blob sizes and digests
	for _, arch := range []string{"amd64", "arm64"} {
		if got, want := children[arch], e.manifestDigest(tag, arch); got != want {
			t.Errorf("%s manifest: registry %s, cache %s", arch, got, want)
		}
	}
}

// tcpFaultProxy forwards connections to a registry, each after a short delay. Of the connections on which the
// client sends more than resetAfter bytes (uploads), the 1st, (every+1)th, ... are reset there (RST, with
// SetLinger(0)): "connection reset by peer" in the middle of a request.
type tcpFaultProxy struct {
	host               string
	conns, big, resets atomic.Int64
	every              int64
	resetAfter         int64
	delay              time.Duration
}

func newTCPFaultProxy(t *testing.T, target string, every int, resetAfter int64, delay time.Duration) *tcpFaultProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpFaultProxy{host: l.Addr().String(), every: int64(every), resetAfter: resetAfter, delay: delay}
	var mu sync.Mutex
	var open []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range open {
			c.Close()
		}
	})
	go func() {
		for {
			client, err := l.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			mu.Lock()
			open = append(open, client, server)
			mu.Unlock()
			p.conns.Add(1)
			go p.serve(client.(*net.TCPConn), server)
		}
	}()
	return p
}

func (p *tcpFaultProxy) serve(client *net.TCPConn, server net.Conn) {
	defer client.Close()
	defer server.Close()
	time.Sleep(p.delay)
	go func() { _, _ = io.Copy(client, server) }() // the proxy breaks connections on purpose
	if _, err := io.CopyN(server, client, p.resetAfter); err != nil {
		return // a small exchange, left alone
	}
	if p.big.Add(1)%p.every == 1 {
		p.resets.Add(1)
		_ = client.SetLinger(0) // Close sends RST
		return
	}
	_, _ = io.Copy(server, client) // the proxy breaks connections on purpose
}

func TestPushThroughFlakyConnections(t *testing.T) {
	reg := newPushRegistry(t)
	proxy := newTCPFaultProxy(t, reg.host, 3, 4096, 20*time.Millisecond)
	e, tag := faultPkg(t, proxy.host)
	r := e.pushVia(t, proxy.host, 3*time.Minute)
	if r.code != 0 {
		t.Fatalf("push through a proxy resetting every 3rd upload connection: exit %d\n%s", r.code, tail(r.stderr, 20))
	}
	if proxy.resets.Load() == 0 {
		t.Fatalf("the proxy reset no connection (%d connections): the test tested nothing", proxy.conns.Load())
	}
	samePush(t, e, reg, proxy.host, tag)
	t.Logf("%d connections, %d reset", proxy.conns.Load(), proxy.resets.Load())
}

// httpFaultProxy is a reverse proxy to a registry; fault may answer a request itself (returning true) or change it
// before it is forwarded. It logs the requests that reach it.
type httpFaultProxy struct {
	host string
	mu   sync.Mutex
	log  []string // "METHOD path?query"
}

func newHTTPFaultProxy(t *testing.T, target string, fault func(n int, w http.ResponseWriter, r *http.Request) bool) *httpFaultProxy {
	t.Helper()
	u, _ := url.Parse("http://" + target)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = log.New(io.Discard, "", 0)
	p := &httpFaultProxy{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.log = append(p.log, r.Method+" "+r.URL.RequestURI())
		n := len(p.log)
		p.mu.Unlock()
		if !fault(n, w, r) {
			rp.ServeHTTP(w, r)
		}
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	t.Cleanup(srv.Close)
	p.host = strings.TrimPrefix(srv.URL, "http://")
	return p
}

// waitQuiet returns once no request has arrived for quiet, or after limit.
func (p *httpFaultProxy) waitQuiet(quiet, limit time.Duration) {
	deadline := time.Now().Add(limit)
	n, since := len(p.requests()), time.Now()
	for time.Now().Before(deadline) && time.Since(since) < quiet {
		time.Sleep(quiet / 10)
		if m := len(p.requests()); m != n {
			n, since = m, time.Now()
		}
	}
}

func (p *httpFaultProxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.log...)
}

func TestPushGivesUpOnPersistent503(t *testing.T) {
	reg := newPushRegistry(t)
	proxy := newHTTPFaultProxy(t, reg.host, func(n int, w http.ResponseWriter, _ *http.Request) bool {
		if n%3 == 0 {
			w.Header().Set("Retry-After", "1")
		}
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return true
	})
	e, _ := faultPkg(t, proxy.host)
	r := e.pushVia(t, proxy.host, 2*time.Minute)
	if r.code == 0 {
		t.Fatal("push to a registry answering 503 to everything succeeded")
	}
	for _, want := range []string{proxy.host, "HTTP 503 Service Unavailable", "5 attempts in a row", "giving up", "GET", "/v2/"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the error lacks %q:\n%s", want, tail(r.stderr, 10))
		}
	}
	t.Logf("%s", tail(strings.TrimSpace(r.stderr), 1))
	// The four failures before the last are reported as they happen, so a waiting user knows why.
	if n := strings.Count(r.stderr, "answered 503 Service Unavailable to GET /v2/; retrying"); n != 4 {
		t.Errorf("%d retry notices, want 4:\n%s", n, tail(r.stderr, 12))
	}
	if n := len(proxy.requests()); n != 5 {
		t.Errorf("%d requests reached the registry, want 5 (the attempts): %v", n, proxy.requests())
	}
}

func TestPushWaitsOut429(t *testing.T) {
	reg := newPushRegistry(t)
	var throttled sync.Map // methods already answered 429 once
	proxy := newHTTPFaultProxy(t, reg.host, func(_ int, w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			return false
		}
		if _, seen := throttled.LoadOrStore(r.Method, true); seen {
			return false
		}
		w.Header().Set("Retry-After", "1")
		http.Error(w, `{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}`, http.StatusTooManyRequests)
		return true
	})
	e, tag := faultPkg(t, proxy.host)
	r := e.pushVia(t, proxy.host, 2*time.Minute)
	if r.code != 0 {
		t.Fatalf("push with a 429 + Retry-After on the first POST, PATCH and PUT: exit %d\n%s", r.code, tail(r.stderr, 20))
	}
	samePush(t, e, reg, proxy.host, tag)
	for _, m := range []string{http.MethodPost, http.MethodPatch, http.MethodPut} {
		if _, ok := throttled.Load(m); !ok {
			t.Errorf("no %s was throttled: the test tested less than it says", m)
		}
	}
}

// flipPatch damages one byte of a PATCH body (a blob chunk) on its way to the registry.
func flipPatch(r *http.Request) {
	r.Body = &flipReader{ReadCloser: r.Body}
}

type flipReader struct {
	io.ReadCloser
	done bool
}

func (f *flipReader) Read(p []byte) (int, error) {
	n, err := f.ReadCloser.Read(p)
	if n > 0 && !f.done {
		p[n/2] ^= 0xff
		f.done = true
	}
	return n, err
}

func TestPushCorruptedUploadNeverSucceedsSilently(t *testing.T) {
	// go-containerregistry's registry reports each digest mismatch on the global logger; e2e tests run one at a time.
	defer log.SetOutput(log.Writer())
	log.SetOutput(io.Discard)
	t.Run("every upload damaged: fails", func(t *testing.T) {
		reg := newPushRegistry(t)
		proxy := newHTTPFaultProxy(t, reg.host, func(_ int, _ http.ResponseWriter, r *http.Request) bool {
			if r.Method == http.MethodPatch {
				flipPatch(r)
			}
			return false
		})
		e, tag := faultPkg(t, proxy.host)
		r := e.pushVia(t, proxy.host, 2*time.Minute)
		if r.code == 0 {
			t.Fatal("push with every blob damaged on the way succeeded")
		}
		if !strings.Contains(r.stderr, "DIGEST_INVALID") {
			t.Errorf("the error does not say the digest did not match:\n%s", tail(r.stderr, 10))
		}
		if d := reg.digest(t, strings.Replace(tag, proxy.host, reg.host, 1)); d != "" {
			t.Errorf("the tag exists after a failed push: %s", d)
		}
	})
	t.Run("first upload damaged: retried, identical", func(t *testing.T) {
		reg := newPushRegistry(t)
		var damaged atomic.Bool
		proxy := newHTTPFaultProxy(t, reg.host, func(_ int, _ http.ResponseWriter, r *http.Request) bool {
			if r.Method == http.MethodPatch && damaged.CompareAndSwap(false, true) {
				flipPatch(r)
			}
			return false
		})
		e, tag := faultPkg(t, proxy.host)
		if r := e.pushVia(t, proxy.host, 2*time.Minute); r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, tail(r.stderr, 20))
		}
		samePush(t, e, reg, proxy.host, tag)
	})
	// A registry (or something in front of it) that acknowledges committing a blob it does not keep.
	t.Run("upload acknowledged but not kept: fails", func(t *testing.T) {
		reg := newPushRegistry(t)
		var lied atomic.Value
		proxy := newHTTPFaultProxy(t, reg.host, func(_ int, w http.ResponseWriter, r *http.Request) bool {
			dgst := r.URL.Query().Get("digest")
			if r.Method != http.MethodPut || dgst == "" || !lied.CompareAndSwap(nil, dgst) {
				return false
			}
			_, _ = io.Copy(io.Discard, r.Body) // drained only; the lie is the answer
			w.Header().Set("Docker-Content-Digest", dgst)
			w.Header().Set("Location", "/v2/"+strings.SplitN(strings.TrimPrefix(r.URL.Path, "/v2/"), "/blobs/", 2)[0]+"/blobs/"+dgst)
			w.WriteHeader(http.StatusCreated)
			return true
		})
		e, tag := faultPkg(t, proxy.host)
		r := e.pushVia(t, proxy.host, 2*time.Minute)
		if r.code == 0 {
			t.Fatal("push succeeded though the registry never stored one of its blobs")
		}
		if d, _ := lied.Load().(string); !strings.Contains(r.stderr, d) || !strings.Contains(r.stderr, "does not have it") {
			t.Errorf("the error does not name the missing blob %s:\n%s", d, tail(r.stderr, 10))
		}
		if d := reg.digest(t, strings.Replace(tag, proxy.host, reg.host, 1)); d != "" {
			t.Errorf("the tag exists after a failed push: %s", d)
		}
	})
}

// A push interrupted half way, after its first blob was committed, and run again sends only what is missing. It is
// interrupted either by killing the process while the registry stalls, or by the registry dropping every further
// connection for good (the push then gives up by itself).
func TestPushInterruptedThenRerunSendsOnlyTheRest(t *testing.T) {
	t.Run("killed", func(t *testing.T) { interruptedThenRerun(t, true) })
	t.Run("connection dropped for good", func(t *testing.T) { interruptedThenRerun(t, false) })
}

func interruptedThenRerun(t *testing.T, kill bool) {
	reg := newPushRegistry(t)
	var (
		mu        sync.Mutex
		committed []string // blobs the registry acknowledged, in the first run
		stalled   = make(chan struct{})
		release   = make(chan struct{})
		stallOnce sync.Once
		stalling  atomic.Bool
		firstRun  atomic.Bool
	)
	firstRun.Store(true)
	proxy := newHTTPFaultProxy(t, reg.host, func(_ int, w http.ResponseWriter, r *http.Request) bool {
		if stalling.Load() {
			stallOnce.Do(func() { close(stalled) })
			if !kill { // drop the connection: RST, no answer
				if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
					_ = conn.(*net.TCPConn).SetLinger(0) // Close sends RST
					conn.Close()
				}
				return true
			}
			select { // hold every further request until the process is gone
			case <-release:
			case <-r.Context().Done():
			}
			http.Error(w, "gone", http.StatusServiceUnavailable)
			return true
		}
		if dgst := r.URL.Query().Get("digest"); r.Method == http.MethodPut && dgst != "" {
			mu.Lock()
			committed = append(committed, dgst)
			mu.Unlock()
			stalling.Store(firstRun.Load()) // from the next request on
		}
		return false
	})
	e, tag := faultPkg(t, proxy.host)

	if kill {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, lkpkgBin, "--cache", e.cache, "pkg", "push", "--nobuild", "--registry-creds",
			proxy.host+"="+regUser+":"+regPass, "pkg/p")
		cmd.Dir = e.repo.Dir
		cmd.Env = append(append(testEnv(), noCredsEnv(t)...), faultEnv...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-stalled:
		case <-ctx.Done():
			t.Fatal("the first push never reached its second blob")
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait() // killed: its status says nothing
	} else {
		r := e.pushVia(t, proxy.host, 2*time.Minute)
		if r.code == 0 {
			t.Fatal("the push succeeded though the registry dropped every connection after the first blob")
		}
		t.Logf("%s", tail(strings.TrimSpace(r.stderr), 1))
		for _, want := range []string{"the connection to the registry " + proxy.host + " failed", "times in a row", "giving up"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("the error lacks %q:\n%s", want, tail(r.stderr, 10))
			}
		}
	}
	// A request the first run wrote just before it died may reach the proxy's handler only now; it is the first
	// run's (stalled, not forwarded) once the proxy has been quiet for a while.
	proxy.waitQuiet(500*time.Millisecond, 10*time.Second)
	firstRunRequests := len(proxy.requests())
	mu.Lock()
	done := append([]string(nil), committed...)
	mu.Unlock()
	firstRun.Store(false)
	stalling.Store(false)
	close(release)
	if reg.digest(t, strings.Replace(tag, proxy.host, reg.host, 1)) != "" {
		t.Fatal("the interrupted push got as far as the tag: nothing was interrupted")
	}

	if r := e.pushVia(t, proxy.host, 2*time.Minute); r.code != 0 {
		t.Fatalf("re-run: exit %d\n%s", r.code, tail(r.stderr, 20))
	}
	samePush(t, e, reg, proxy.host, tag)
	var patches, commits int
	for _, req := range proxy.requests()[firstRunRequests:] {
		for _, d := range done {
			if strings.Contains(req, d) && !strings.HasPrefix(req, http.MethodHead) && !strings.HasPrefix(req, http.MethodGet) {
				t.Errorf("the re-run sent blob %s again: %s", d, req)
			}
		}
		if strings.HasPrefix(req, http.MethodPatch) {
			patches++
		}
		if strings.HasPrefix(req, http.MethodPut) && strings.Contains(req, "digest=") {
			commits++
		}
	}
	if commits == 0 || patches != commits {
		t.Errorf("re-run: %d blob chunks sent for %d blobs committed, want one each and at least one", patches, commits)
	}
	t.Logf("the first run committed %d blobs before it was interrupted; the re-run uploaded %d", len(done), commits)
}

// A first interrupt stops a push cleanly, which may mean waiting out a registry's backoff; a second one ends
// lkpkg at once, as the default signal action does.
func TestSecondInterruptEndsAtOnce(t *testing.T) {
	reg := newPushRegistry(t)
	proxy := newHTTPFaultProxy(t, reg.host, func(_ int, w http.ResponseWriter, _ *http.Request) bool {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return true
	})
	e, _ := faultPkg(t, proxy.host)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, lkpkgBin, "--cache", e.cache, "pkg", "push", "--nobuild", "pkg/p")
	cmd.Dir = e.repo.Dir
	// Backoffs of ten minutes: only a signal can end this push within the test's time.
	cmd.Env = append(append(testEnv(), noCredsEnv(t)...), "LKPKG_RETRY_BASE=10m")
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(stderr.String(), "retrying") }, time.Minute)
	// The first interrupt cancels; later ones, once lkpkg has handed signals back, end it.
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var err error
	for done := false; !done; {
		_ = cmd.Process.Signal(os.Interrupt) // it may have exited already; exited says
		select {
		case err = <-exited:
			done = true
		case <-time.After(200 * time.Millisecond):
		}
	}
	if ctx.Err() != nil {
		t.Fatalf("lkpkg did not end on repeated interrupts:\n%s", tail(stderr.String(), 10))
	}
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGINT {
		t.Fatalf("lkpkg ended with %v, want killed by SIGINT:\n%s", err, tail(stderr.String(), 10))
	}
}

// lossyProxy is a reverse proxy over a link that loses requests, in front of a registry that can be swapped. With
// a seeded random source, of the requests it gets, dropPct have their connection reset (an upload's after part of
// its body), errPct are answered 500 by the proxy itself, and of the answers forwarded with a body, cutPct are
// cut off half way.
type lossyProxy struct {
	host                             string
	dropPct, errPct, cutPct          int
	mu                               sync.Mutex
	rng                              *rand.Rand
	target                           *httputil.ReverseProxy
	requests, drops, errors500, cuts atomic.Int64
}

func newLossyProxy(t *testing.T, dropPct, errPct, cutPct int) *lossyProxy {
	t.Helper()
	p := &lossyProxy{dropPct: dropPct, errPct: errPct, cutPct: cutPct}
	srv := httptest.NewServer(http.HandlerFunc(p.serve))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	t.Cleanup(srv.Close)
	p.host = strings.TrimPrefix(srv.URL, "http://")
	return p
}

// forwardTo sends what gets through to the plain-HTTP registry at target, with faults drawn from seed.
func (p *lossyProxy) forwardTo(target string, seed uint64) {
	u, _ := url.Parse("http://" + target)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = log.New(io.Discard, "", 0)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rng, p.target = rand.New(rand.NewPCG(seed, seed)), rp
}

func (p *lossyProxy) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	if p.target == nil { // no registry behind it yet
		p.mu.Unlock()
		http.Error(w, "no registry yet", http.StatusServiceUnavailable)
		return
	}
	roll, cut, partial, target := p.rng.IntN(100), p.rng.IntN(100) < p.cutPct, p.rng.Int64N(64<<10), p.target
	p.mu.Unlock()
	p.requests.Add(1)
	switch {
	case roll < p.dropPct:
		p.drops.Add(1)
		if r.Body != nil {
			_, _ = io.CopyN(io.Discard, r.Body, partial) // read part, then drop
		}
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.(*net.TCPConn).SetLinger(0) // RST
			conn.Close()
		}
	case roll < p.dropPct+p.errPct:
		p.errors500.Add(1)
		http.Error(w, "internal error on the way", http.StatusInternalServerError)
	case cut:
		target.ServeHTTP(&cutWriter{ResponseWriter: w, cuts: &p.cuts}, r)
	default:
		target.ServeHTTP(w, r)
	}
}

// cutWriter passes on the first half of a body whose length the answer declares, then fails: the reverse proxy
// then aborts the answer, and the client reads a body cut short.
type cutWriter struct {
	http.ResponseWriter
	cuts    *atomic.Int64
	left    int64 // bytes still let through; set at WriteHeader
	cutting bool
}

func (c *cutWriter) WriteHeader(code int) {
	if n, err := strconv.ParseInt(c.Header().Get("Content-Length"), 10, 64); err == nil && n > 1 {
		c.left, c.cutting = n/2, true
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *cutWriter) Write(b []byte) (int, error) {
	if !c.cutting {
		return c.ResponseWriter.Write(b)
	}
	if int64(len(b)) <= c.left {
		c.left -= int64(len(b))
		return c.ResponseWriter.Write(b)
	}
	n, _ := c.ResponseWriter.Write(b[:c.left])
	http.NewResponseController(c.ResponseWriter).Flush()
	c.cuts.Add(1)
	return n, errors.New("cut on the way")
}

// Over a link that drops a fifth of the requests and answers a tenth with 500 (and cuts some answers short),
// every push of a two-arch package to the distribution registry completes, the registry holding exactly the
// cache's index, manifests and blobs (digests and sizes checked). Six pushes, each to a fresh registry with its
// own seed, so that each sends everything.
func TestPushOverLossyLinkCompletes(t *testing.T) {
	proxy := newLossyProxy(t, 20, 10, 20)
	e, tag := faultPkg(t, proxy.host)
	for i := range 6 {
		d := newDistRegistry(t, distOptions{plainHTTP: true})
		proxy.forwardTo(d.host, uint64(i+1))
		before := proxy.requests.Load()
		r := e.pushVia(t, proxy.host, 3*time.Minute)
		if r.code != 0 {
			t.Fatalf("push %d over a lossy link: exit %d\n%s", i+1, r.code, tail(r.stderr, 20))
		}
		reg := &pushRegistry{host: d.host}
		samePush(t, e, reg, proxy.host, tag)
		direct := strings.Replace(tag, proxy.host, d.host, 1)
		for _, arch := range []string{"amd64", "arm64"} {
			if got, want := reg.digest(t, direct+"-"+arch), e.manifestDigest(tag, arch); got != want {
				t.Errorf("push %d: arch tag %s-%s is %q, the cache's manifest %s", i+1, direct, arch, got, want)
			}
		}
		t.Logf("push %d: %d requests, %d retry notices", i+1, proxy.requests.Load()-before,
			strings.Count(r.stderr, "retrying"))
	}
	t.Logf("in all: %d requests, %d dropped, %d answered 500, %d answers cut", proxy.requests.Load(),
		proxy.drops.Load(), proxy.errors500.Load(), proxy.cuts.Load())
	if proxy.drops.Load() == 0 || proxy.errors500.Load() == 0 || proxy.cuts.Load() == 0 {
		t.Fatal("some fault never happened: the test tested less than it says")
	}
}
