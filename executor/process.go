package executor

import (
	"io"
	"sync"
	"syscall"

	"github.com/sirupsen/logrus"
	fscopy "github.com/tonistiigi/fsutil/copy"
)

// processSettings are the process-wide changes an engine needs. The umask
// is changed when the first engine starts and restored when the last one
// closes. Log settings stay: BuildKit goroutines may still log after Close.
var processSettings struct {
	mu      sync.Mutex
	engines int
	umask   int
}

// applyProcessSettings sets, for the whole process:
//   - umask 0, as buildkitd does, so that COPY reproduces file modes exactly
//     (fsutil is told so); files lkpkg writes meanwhile need explicit modes;
//   - logrus, which BuildKit and containerd log through, to errors only,
//     discarded: this hides noise such as fsverity and OOM-event checks on
//     every build (failures reach the user as the solve's error).
func applyProcessSettings() (restore func()) {
	s := &processSettings
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.engines == 0 {
		s.umask = syscall.Umask(0)
		fscopy.UmaskIsZero = true
	}
	s.engines++
	logrus.SetLevel(logrus.ErrorLevel)
	logrus.SetOutput(io.Discard)
	var once sync.Once
	return func() { once.Do(releaseProcessSettings) }
}

func releaseProcessSettings() {
	s := &processSettings
	s.mu.Lock()
	defer s.mu.Unlock()
	s.engines--
	if s.engines == 0 {
		syscall.Umask(s.umask)
		fscopy.UmaskIsZero = false
	}
}
