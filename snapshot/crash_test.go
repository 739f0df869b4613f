package snapshot

import (
	"bufio"
	"math/rand/v2"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// A writer killed with SIGKILL at random points in a loop of large blob writes, DescriptorWrite, IndexWriteNamed and
// Remove leaves a valid layout every time: every blob matches its digest, every index.json descriptor's blob exists
// and parses. The next writer (here, the next child) carries on.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("kills writer processes repeatedly")
	}
	c := newCache(t)
	importFixture(t, c)
	const rounds = 6
	killedMidWrite := 0
	for round := 0; round < rounds; round++ {
		cmd := child(t, "crash", c.Dir(), string(rune('a'+round)))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ready := make(chan bool, 1)
		go func() {
			line, _ := bufio.NewReader(out).ReadString('\n')
			ready <- strings.TrimSpace(line) == "ready"
		}()
		select {
		case ok := <-ready:
			if !ok {
				_ = cmd.Process.Kill() // clean-up before failing; the child already failed
				_ = cmd.Wait()
				t.Fatal("writer child failed before it was ready")
			}
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill() // clean-up before failing
			t.Fatal("writer child never got ready")
		}
		time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child ended with %v before it was killed", round, err)
		}
		checkLayout(t, c.Dir())
		if t.Failed() {
			t.Fatalf("round %d: invalid layout after kill -9", round)
		}
	}
	entries, _ := os.ReadDir(c.Dir())
	for _, e := range entries {
		if isTemp(e.Name()) {
			killedMidWrite++
		}
	}
	t.Logf("%d of %d kills hit a blob write (temporary file left)", killedMidWrite, rounds)
	// The cache still works, and the fixture imported before is intact.
	if ok, err := c.ImageInCache(fixtureName, "amd64"); !ok || err != nil {
		t.Fatalf("fixture after crashes: %v %v", ok, err)
	}
	if _, err := c.IndexWriteNamed("docker.io/test/crash:multi", []ocispec.Descriptor{mustImage(t, c, "riscv64", "after")}, nil); err != nil {
		t.Fatal(err)
	}
	checkLayout(t, c.Dir())
}
