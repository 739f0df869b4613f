package build

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

func TestCheckProgressMode(t *testing.T) {
	for _, mode := range []string{"auto", "plain", "quiet", "rawjson"} {
		if err := CheckProgressMode(mode); err != nil {
			t.Errorf("%s: %v", mode, err)
		}
	}
	if err := CheckProgressMode("fancy"); err == nil || !strings.Contains(err.Error(), "use auto, plain, tty") {
		t.Errorf("fancy: %v, want the modes listed", err)
	}
	err := CheckProgressMode("tty")
	if isTerminal(os.Stderr) != (err == nil) {
		t.Errorf("tty with stderr a terminal %v: %v", isTerminal(os.Stderr), err)
	}
}

func TestConcurrency(t *testing.T) {
	if got := Concurrency("tty"); got != 1 {
		t.Errorf("tty: %d, want 1 (one display on the terminal)", got)
	}
	if got := Concurrency("plain"); got != runtime.NumCPU() {
		t.Errorf("plain: %d, want one per CPU (%d)", got, runtime.NumCPU())
	}
}
