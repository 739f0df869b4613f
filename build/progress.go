package build

import (
	"bytes"
	"context"
	"io"
	"sync"
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
