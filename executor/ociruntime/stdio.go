package ociruntime

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/containerd/console"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/utils"
)

// processIO connects a container process to this runtime's stdio: directly
// for pipes, or through a pseudo-terminal the container creates and sends
// back over a socket when the process asks for a terminal.
type processIO struct {
	socket    *os.File // our end of the console socket; nil without a terminal
	peer      *os.File // the container's end, closed once it has started
	master    console.Console
	host      console.Console // our own stdin when it is a terminal, put in raw mode
	outputEOF chan struct{}
}

func attachIO(process *libcontainer.Process, tty bool) (*processIO, error) {
	if !tty {
		process.Stdin, process.Stdout, process.Stderr = os.Stdin, os.Stdout, os.Stderr
		return &processIO{}, nil
	}
	socket, peer, err := utils.NewSockPair("console")
	if err != nil {
		return nil, fmt.Errorf("create console socket: %w", err)
	}
	process.ConsoleSocket = peer
	return &processIO{socket: socket, peer: peer}, nil
}

// started receives the terminal from the container and starts copying.
func (p *processIO) started() error {
	if p.socket == nil {
		return nil
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

// drain waits, briefly, for the last output of an exited terminal process.
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
}
