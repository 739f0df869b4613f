package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// lockFileName is the state dir's lock, the one file discarding the state keeps.
const lockFileName = "lkpkg.lock"

// lockStateDir takes the exclusive lock on dir. BuildKit's databases would
// otherwise block forever, silently, when two lkpkg processes share a state
// directory; instead we say what we wait for and give up when ctx ends.
func lockStateDir(ctx context.Context, dir string, messages io.Writer) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFileName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open state lock: %w", err)
	}
	announced := false
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock state dir %s: %w", dir, err)
		}
		if !announced {
			fmt.Fprintf(messages, "waiting for another lkpkg using %s\n", dir)
			announced = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("gave up waiting for the lock on %s (another lkpkg is using it; use a different state dir to build in parallel): %w", dir, context.Cause(ctx))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// tryLockStateDir takes the exclusive lock on dir if it is free; nil, nil when another process holds it.
func tryLockStateDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFileName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open state lock: %w", err)
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		switch {
		case err == nil:
			return f, nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EWOULDBLOCK):
			f.Close()
			return nil, nil
		}
		f.Close()
		return nil, fmt.Errorf("lock state dir %s: %w", dir, err)
	}
}
