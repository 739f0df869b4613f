//go:build cgo

package ociruntime

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/containerd/console"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/utils"
)

// processIO connects a container process to this runtime's stdio: through
// pipes this runtime copies from, or through a pseudo-terminal the container
// creates and sends back over a socket when the process asks for one.
//
// Output is copied rather than handing the container our own stdout and
// stderr: BuildKit waits for EOF on them, so if this runtime is killed the
// container must not hold them, or BuildKit would wait for the container
// instead of noticing and deleting it.
type processIO struct {
	socket    *os.File // our end of the console socket; nil without a terminal
	peer      *os.File // the container's end, closed once it has started
	master    console.Console
	host      console.Console // our own stdin when it is a terminal, put in raw mode
	pipes     []*os.File      // write ends given to the container, closed once it has started
	copies    []func()        // output copies to start once it has started
	outputEOF chan struct{}
}

func attachIO(process *libcontainer.Process, tty bool) (*processIO, error) {
	if tty {
		socket, peer, err := utils.NewSockPair("console")
		if err != nil {
			return nil, fmt.Errorf("create console socket: %w", err)
		}
		process.ConsoleSocket = peer
		return &processIO{socket: socket, peer: peer}, nil
	}
	p := &processIO{}
	process.Stdin = os.Stdin // BuildKit does not wait on stdin
	var err error
	if process.Stdout, err = p.outputPipe(os.Stdout); err == nil {
		process.Stderr, err = p.outputPipe(os.Stderr)
	}
	if err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// outputPipe returns a pipe for the container to write to dst through.
func (p *processIO) outputPipe(dst *os.File) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("create output pipe: %w", err)
	}
	p.pipes = append(p.pipes, w)
	p.copies = append(p.copies, func() {
		defer r.Close()
		_, _ = io.Copy(dst, r)
	})
	return w, nil
}

// started closes our copies of the container's ends and starts copying:
// from the output pipes, or from the terminal received from the container.
func (p *processIO) started() error {
	if p.socket == nil {
		return p.startCopies()
	}
	p.peer.Close()
	p.peer = nil
	f, err := utils.RecvFile(p.socket)
	if err != nil {
		return fmt.Errorf("receive container terminal: %w", err)
	}
	master, err := console.ConsoleFromFile(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("use container terminal: %w", err)
	}
	p.master = master
	if host, err := console.ConsoleFromFile(os.Stdin); err == nil {
		if host.SetRaw() == nil {
			p.host = host
		}
	}
	p.resize()
	p.outputEOF = make(chan struct{})
	go func() { _, _ = io.Copy(master, os.Stdin) }()
	go func() {
		defer close(p.outputEOF)
		_, _ = io.Copy(os.Stdout, master)
	}()
	return nil
}

func (p *processIO) startCopies() error {
	for _, w := range p.pipes {
		w.Close()
	}
	p.pipes = nil
	p.outputEOF = make(chan struct{})
	var copying sync.WaitGroup
	for _, copyOutput := range p.copies {
		copying.Go(copyOutput)
	}
	go func() {
		copying.Wait()
		close(p.outputEOF)
	}()
	return nil
}

// resize gives the container terminal the size of ours.
func (p *processIO) resize() {
	if p.master == nil {
		return
	}
	for _, f := range []*os.File{os.Stdin, os.Stdout} {
		if c, err := console.ConsoleFromFile(f); err == nil {
			if size, err := c.Size(); err == nil {
				_ = p.master.Resize(size)
				return
			}
		}
	}
}

// drain waits, briefly, for the last output of an exited process; its pid
// namespace is gone, so only a process sharing ours could delay EOF.
func (p *processIO) drain() {
	if p.outputEOF == nil {
		return
	}
	select {
	case <-p.outputEOF:
	case <-time.After(2 * time.Second):
	}
}

func (p *processIO) close() {
	if p.host != nil {
		_ = p.host.Reset()
	}
	if p.master != nil {
		_ = p.master.Close()
	}
	_ = p.socket.Close() // (*os.File).Close tolerates nil
	_ = p.peer.Close()
	for _, w := range p.pipes {
		_ = w.Close()
	}
}
