package executor_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lkpkg/lkpkg/executor"
)

// TestNetworkPolicy checks that RUN steps reach a server on the host's
// loopback only with NetworkHost, and that an offline build can neither
// reach it nor ask for the host network explicitly.
func TestNetworkPolicy(t *testing.T) {
	var hits atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		fmt.Fprintln(w, "pong")
	}))
	defer server.Close()
	url := server.URL // http://127.0.0.1:PORT: an IP literal, busybox has no NSS
	e := newEngine(t, t.TempDir())
	fetch := "wget -q -O /pong " + url + "/ && grep -q pong /pong"

	cases := []struct {
		name     string
		run      string
		network  executor.NetworkMode
		wantErr  string // empty: must succeed
		wantHits int32
	}{
		{"offline default", "RUN " + fetch, "", "did not complete successfully", 0},
		{"offline explicit host", "RUN --network=host " + fetch, executor.NetworkNone, "network.host is not allowed", 0},
		{"host", "RUN " + fetch, executor.NetworkHost, "", 1},
		{"host, explicit host", "RUN --network=host " + fetch, executor.NetworkHost, "", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := hits.Load()
			req := fixtureRequest(t, buildContext(t, map[string]string{
				"Dockerfile": "FROM busybox:fixture\n" + c.run + "\n",
			}))
			req.Network = c.network
			_, err := solve(t, e, req)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("build failed: %v", err)
			case c.wantErr != "" && err == nil:
				t.Fatal("build succeeded, want it to fail")
			case c.wantErr != "" && !strings.Contains(err.Error(), c.wantErr):
				t.Fatalf("build failed with %q, want an error containing %q", err, c.wantErr)
			}
			if got := hits.Load() - before; got != c.wantHits {
				t.Errorf("server got %d requests, want %d", got, c.wantHits)
			}
		})
	}
}
