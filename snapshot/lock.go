package snapshot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// lockFileName is linuxkit's lock file (cache/const.go); both tools must take the same lock to share a cache.
const lockFileName = ".lock"

// fcntl locks belong to the process, not the file descriptor: a second F_SETLKW from the same process succeeds at
// once, and closing any descriptor of the file drops the lock. So goroutines of one process also serialise on a
// mutex per cache directory, and only the holder of that mutex ever opens or closes the lock file.
var (
	dirMutexesMu sync.Mutex
	dirMutexes   = map[string]*sync.Mutex{}
)

func dirMutex(dir string) *sync.Mutex {
	dirMutexesMu.Lock()
	defer dirMutexesMu.Unlock()
	m, ok := dirMutexes[dir]
	if !ok {
		m = &sync.Mutex{}
		dirMutexes[dir] = m
	}
	return m
}

// withLock runs fn holding linuxkit's lock: an fcntl F_WRLCK over the whole of <dir>/.lock, waited for with F_SETLKW.
func withLock(dir string, fn func() error) error {
	mu := dirMutex(dir)
	mu.Lock()
	defer mu.Unlock()

	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, filePerm)
	if err != nil {
		return fmt.Errorf("open cache lock %s: %w", path, err)
	}
	defer f.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: 0, Len: 0}
	for {
		err = unix.FcntlFlock(f.Fd(), unix.F_SETLKW, &lk)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("lock cache %s: %w", path, err)
	}
	defer func() {
		unlk := unix.Flock_t{Type: unix.F_UNLCK, Whence: 0, Start: 0, Len: 0}
		_ = unix.FcntlFlock(f.Fd(), unix.F_SETLK, &unlk)
	}()
	return fn()
}
