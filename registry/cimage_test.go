package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/distribution/registry/api/errcode"
	"go.podman.io/image/v5/docker"
)

func TestRetryableCopy(t *testing.T) {
	// As containers/image decodes a registry's JSON error body.
	digestInvalid := errcode.ParseErrorCode("DIGEST_INVALID")
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection reset", fmt.Errorf("writing blob: %w", &net.OpError{Op: "write", Err: syscall.ECONNRESET}), true},
		{"timeout", fmt.Errorf("pinging: %w", timeoutErr{}), true},
		{"503", fmt.Errorf("uploading: %w", docker.UnexpectedHTTPStatusError{StatusCode: 503}), true},
		{"429", docker.UnexpectedHTTPStatusError{StatusCode: 429}, true},
		{"404", docker.UnexpectedHTTPStatusError{StatusCode: 404}, false},
		{"damaged on the way", fmt.Errorf("uploading: %w", digestInvalid.WithMessage("digest does not match")), true},
		{"unavailable", errcode.ErrorCodeUnavailable.WithMessage("down"), true},
		{"denied", errcode.ErrorCodeDenied.WithMessage("no"), false},
		{"unauthorized", docker.ErrUnauthorizedForCredentials{Err: errors.New("bad password")}, false},
		{"cancelled", fmt.Errorf("copying: %w", context.Canceled), false},
		{"refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, false},
	} {
		if got := retryableCopy(tc.err); got != tc.want {
			t.Errorf("%s: retryableCopy(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

// A blob or manifest that keeps failing while the registry answers (a lossy link) is tried again up to the
// lossy bound; one failing while the registry answers nothing stops after the policy's attempts, saying how often
// it failed; an answer in between starts that count again; a failure that will not pass stops at once.
func TestPersistTellsALossyLinkFromADownRegistry(t *testing.T) {
	reset := fmt.Errorf("writing blob: %w", &net.OpError{Op: "write", Err: syscall.ECONNRESET})
	newPusher := func(notices *bytes.Buffer) *Pusher {
		p := &Pusher{}
		p.Retry = RetryPolicy{Attempts: 3, Base: time.Millisecond}
		p.retryNotices = notices
		return p
	}
	answering := func(context.Context) bool { return true }
	silent := func(context.Context) bool { return false }
	for _, tc := range []struct {
		name      string
		answers   func(context.Context) bool
		failures  int // op fails this many times, then succeeds
		wantRuns  int
		wantError string
	}{
		{"lossy link, passes", answering, 11, 12, ""},
		{"lossy link, never passes", answering, 100, 12, "failed 12 times in a row; giving up"},
		{"down", silent, 100, 3, "failed 3 times in a row; giving up"},
		{"down, then passes", silent, 2, 3, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var notices bytes.Buffer
			runs := 0
			err := newPusher(&notices).persist(context.Background(), "r/x@sha256:1", tc.answers, func() error {
				if runs++; runs > tc.failures {
					return nil
				}
				return reset
			})
			if runs != tc.wantRuns || (tc.wantError == "") != (err == nil) ||
				(err != nil && !strings.Contains(err.Error(), tc.wantError)) {
				t.Fatalf("%d runs, %v; want %d runs and error %q", runs, err, tc.wantRuns, tc.wantError)
			}
			if n := strings.Count(notices.String(), "retrying in"); n != tc.wantRuns-1 {
				t.Errorf("%d retry notices, want %d:\n%s", n, tc.wantRuns-1, notices.String())
			}
		})
	}
	t.Run("an answer starts the count again", func(t *testing.T) {
		asks := 0
		runs := 0
		// Two silent failures, an answered one, two silent ones again: never three silent in a row.
		err := newPusher(&bytes.Buffer{}).persist(context.Background(), "r/x@sha256:1",
			func(context.Context) bool { asks++; return asks == 3 },
			func() error {
				if runs++; runs > 5 {
					return nil
				}
				return reset
			})
		if err != nil || runs != 6 {
			t.Fatalf("%d runs, %v; want 6 runs and success", runs, err)
		}
	})
	t.Run("not retryable", func(t *testing.T) {
		runs := 0
		err := newPusher(&bytes.Buffer{}).persist(context.Background(), "r/x@sha256:1", answering, func() error {
			runs++
			return errcode.ErrorCodeDenied.WithMessage("requested access to the resource is denied")
		})
		if runs != 1 || err == nil || !strings.Contains(err.Error(), "refused access") {
			t.Fatalf("%d runs, %v; want 1 run and an access error", runs, err)
		}
	})
}
