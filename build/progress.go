package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// progressPrefixKey carries, through one package's build, the label its progress lines get when several packages
// build at once: BuildKit numbers each solve's steps from #1, so interleaved plain output needs telling apart.
type progressPrefixKey struct{}

func withProgressPrefix(ctx context.Context, label string) context.Context {
	return context.WithValue(ctx, progressPrefixKey{}, label)
}

// progressWriter is where one solve's progress goes: the shared output, with lines labelled when needed.
func (b *Builder) progressWriter(ctx context.Context) io.Writer {
	label, _ := ctx.Value(progressPrefixKey{}).(string)
	if b.opts.Progress == nil || label == "" || b.opts.ProgressMode == "rawjson" {
		return b.opts.Progress
	}
	return &prefixWriter{out: b.opts.Progress, prefix: []byte("[" + label + "] "), mu: &b.progressMu}
}

// prefixWriter writes complete lines, each with prefix, under a lock shared by all writers to the same output.
type prefixWriter struct {
	out    io.Writer
	prefix []byte
	mu     *sync.Mutex
	buf    []byte
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := append(append([]byte{}, w.prefix...), w.buf[:i+1]...)
		w.buf = w.buf[i+1:]
		w.mu.Lock()
		_, err := w.out.Write(line)
		w.mu.Unlock()
		if err != nil {
			return len(p), err
		}
	}
}

// Concurrency is how many packages build at once: one per CPU, but one at a time when BuildKit's progress
// display owns the terminal (two displays would overwrite each other).
func Concurrency(mode string) int {
	if mode == "tty" || (mode == "auto" && isTerminal(os.Stderr)) {
		return 1
	}
	return runtime.NumCPU()
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// CheckProgressMode refuses unknown --progress values, and tty without a terminal, before anything is built.
func CheckProgressMode(mode string) error {
	switch mode {
	case "auto", "plain", "quiet", "rawjson":
		return nil
	case "tty":
		if !isTerminal(os.Stderr) {
			return errors.New("--progress tty needs a terminal on stderr; use --progress plain (or auto)")
		}
		return nil
	}
	return fmt.Errorf("--progress %q: use auto, plain, tty, quiet or rawjson", mode)
}
