package treehash

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
)

// catFile is one long-lived `git cat-file --batch-check` per repository,
// started on first use and restarted if it dies. Queries are serialised.
type catFile struct {
	rs  *Repos
	dir string

	mu     sync.Mutex
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr *bytes.Buffer
	closed bool
}

var catFileArgs = []string{"cat-file", "--batch-check=%(objectname) %(objecttype)"}

// object is cat-file's answer about one object name.
type object struct {
	oid, typ string
	found    bool // false when git reports the name missing
}

// lookup resolves one object name (e.g. "HEAD:pkg/init" or "v1^{tree}").
func (c *catFile) lookup(name string) (object, error) {
	objs, err := c.lookupAll([]string{name})
	if err != nil {
		return object{}, err
	}
	return objs[0], nil
}

// lookupAll resolves object names in one round trip: all queries are written
// while the answers are read, so 40 packages cost one pipe exchange, not 40.
func (c *catFile) lookupAll(names []string) ([]object, error) {
	var batch strings.Builder
	for _, name := range names {
		if strings.ContainsAny(name, "\n\r\x00") {
			return nil, fmt.Errorf("internal error: object name %q cannot go through cat-file --batch-check", name)
		}
		batch.WriteString(name)
		batch.WriteByte('\n')
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errors.New("treehash: Repos used after Close")
	}
	if c.cmd == nil {
		if err := c.start(); err != nil {
			return nil, err
		}
	}
	// Write from another goroutine: git answers while it reads, and a large
	// batch could otherwise fill both pipes and deadlock.
	in := c.in
	written := make(chan error, 1)
	go func() {
		_, err := io.WriteString(in, batch.String())
		written <- err
	}()
	objs := make([]object, len(names))
	var ambiguous error // reported after every answer is read, to keep the pipe in step
	for i, name := range names {
		line, err := c.out.ReadString('\n')
		if err != nil {
			return nil, c.fail(err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch line {
		case name + " missing":
			continue
		case name + " ambiguous":
			if ambiguous == nil {
				ambiguous = fmt.Errorf("%q is ambiguous in %s: give a longer commit id", name, c.dir)
			}
			continue
		}
		oid, typ, ok := strings.Cut(line, " ")
		if !ok || !isHex(oid) || typ == "" {
			return nil, c.fail(fmt.Errorf("unexpected answer %q to %q", line, name))
		}
		objs[i] = object{oid: oid, typ: typ, found: true}
	}
	if err := <-written; err != nil {
		return nil, c.fail(err)
	}
	if ambiguous != nil {
		return nil, ambiguous
	}
	return objs, nil
}

func (c *catFile) start() error {
	c.rs.procs.Add(1)
	cmd := gitCommand(c.dir, catFileArgs...)
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	c.stderr = &bytes.Buffer{}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		return wrapGitErr(catFileArgs, "", err)
	}
	c.cmd, c.in, c.out = cmd, in, bufio.NewReader(out)
	return nil
}

// fail stops a process that broke mid-conversation, so the next lookup
// starts a fresh one, and explains what happened.
func (c *catFile) fail(cause error) error {
	_ = c.in.Close()
	_ = c.cmd.Process.Kill()
	werr := c.cmd.Wait()
	c.cmd = nil
	if werr == nil {
		werr = cause
	}
	return fmt.Errorf("git cat-file in %s stopped unexpectedly (%w): %w", c.dir, cause, wrapGitErr(catFileArgs, c.stderr.String(), werr))
}

func (c *catFile) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.cmd == nil {
		return nil
	}
	_ = c.in.Close()
	err := c.cmd.Wait()
	c.cmd = nil
	if err != nil {
		return wrapGitErr(catFileArgs, c.stderr.String(), err)
	}
	return nil
}

func isHex(s string) bool {
	if len(s) < 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
