package snapshot

import (
	"bufio"
	"testing"
	"time"
)

// While another process (linuxkit, or another lkpkg) holds the fcntl lock on .lock, reads and writes of index.json
// wait; they go through once it is released.
func TestLockIsLinuxkits(t *testing.T) {
	c := newCache(t)
	d := mustImage(t, c, "amd64", "locked")
	holder := child(t, "hold", c.Dir(), "")
	stdin, err := holder.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = holder.Wait() }() // the holder's exit status is not what is tested
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "locked\n" {
		stdin.Close()
		t.Fatalf("holder said %q", line)
	}
	done := make(chan error, 2)
	go func() { done <- c.DescriptorWrite("docker.io/test/locked:1", d) }()
	go func() { _, err := c.List(); done <- err }()
	select {
	case err := <-done:
		stdin.Close()
		t.Fatalf("index.json was used while another process held the lock (err %v)", err)
	case <-time.After(500 * time.Millisecond):
	}
	stdin.Close()
	for i := 0; i < 2; i++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("still blocked after the lock was released")
		}
	}
	if _, err := c.FindRoot("docker.io/test/locked:1"); err != nil {
		t.Fatal(err)
	}
}
