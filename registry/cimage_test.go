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
	"go.podman.io/image/v5/types"
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

// A copy that keeps failing but commits a blob each time goes on past the attempts (it moves forward); one that
// commits nothing stops after them, saying how often it failed; a failure that will not pass stops at once.
func TestCopyAgainCountsFailuresWithoutProgress(t *testing.T) {
	reset := fmt.Errorf("writing blob: %w", &net.OpError{Op: "write", Err: syscall.ECONNRESET})
	newPusher := func(notices *bytes.Buffer) *Pusher {
		p := &Pusher{}
		p.Retry = RetryPolicy{Attempts: 3, Base: time.Millisecond}
		p.retryNotices = notices
		return p
	}
	t.Run("progress", func(t *testing.T) {
		var notices bytes.Buffer
		runs := 0
		err := newPusher(&notices).copyAgain(context.Background(), "r/x@sha256:1", func(progress chan types.ProgressProperties) error {
			if runs++; runs == 7 {
				return nil
			}
			progress <- types.ProgressProperties{Event: types.ProgressEventDone}
			return reset
		})
		if err != nil || runs != 7 {
			t.Fatalf("a copy committing a blob per run: %d runs, %v; want 7 runs and success", runs, err)
		}
		if n := strings.Count(notices.String(), "retrying in"); n != 6 {
			t.Errorf("%d retry notices, want 6:\n%s", n, notices.String())
		}
	})
	t.Run("no progress", func(t *testing.T) {
		runs := 0
		err := newPusher(&bytes.Buffer{}).copyAgain(context.Background(), "r/x@sha256:1", func(chan types.ProgressProperties) error {
			runs++
			return reset
		})
		if runs != 3 || err == nil || !strings.Contains(err.Error(), "failed 3 times in a row; giving up") {
			t.Fatalf("%d runs, %v; want 3 runs and an error saying so", runs, err)
		}
	})
	t.Run("not retryable", func(t *testing.T) {
		runs := 0
		err := newPusher(&bytes.Buffer{}).copyAgain(context.Background(), "r/x@sha256:1", func(chan types.ProgressProperties) error {
			runs++
			return errcode.ErrorCodeDenied.WithMessage("requested access to the resource is denied")
		})
		if runs != 1 || err == nil || !strings.Contains(err.Error(), "refused access") {
			t.Fatalf("%d runs, %v; want 1 run and an access error", runs, err)
		}
	})
}
