//go:build cgo

package ociruntime

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestParentDeathDuringStartLeavesNoInit kills the parent at many points of
// container creation: no container process may survive, including an init
// still waiting to be started.
func TestParentDeathDuringStartLeavesNoInit(t *testing.T) {
	r := newRuntimeCLI(t)
	bundle := busyboxBundle(t, []string{"sleep", "6013"})
	for i := range 20 {
		id := "early" + string(rune('a'+i))
		r.removeOnCleanup(id)
		run := r.command("run", "--bundle", bundle, "--keep", id)
		command, _ := json.Marshal(run.Args)
		parent := exec.Command(os.Args[0])
		parent.Env = append(os.Environ(), parentOfEnv+"="+string(command))
		if err := parent.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(i*5) * time.Millisecond)
		_ = parent.Process.Kill()
		_ = parent.Wait()
	}
	waitUntil(t, func() bool {
		return len(processesWithCmdline(r.path+"\x00")) == 0 && len(processesWithCmdline("sleep\x006013\x00")) == 0
	})
}

// processesWithCmdline lists the pids whose command line starts with prefix.
func processesWithCmdline(prefix string) []string {
	var pids []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.HasPrefix(string(cmdline), prefix) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}
