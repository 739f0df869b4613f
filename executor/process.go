package executor

import (
	"io"
	"sync"
	"syscall"
	"time"

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
//   - logrus, which BuildKit and containerd log through, to warnings and
//     errors (with debug, every level) on buildKitLog, or only errors to nowhere when it is nil: this
//     hides noise such as fsverity and OOM-event checks on every build.
func applyProcessSettings(buildKitLog io.Writer, debug bool) (restore func()) {
	s := &processSettings
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.engines == 0 {
		s.umask = syscall.Umask(0)
		fscopy.UmaskIsZero = true
	}
	s.engines++
	if buildKitLog == nil {
		logrus.SetLevel(logrus.ErrorLevel)
		logrus.SetOutput(io.Discard)
	} else {
		logrus.SetLevel(logrus.WarnLevel)
		if debug {
			logrus.SetLevel(logrus.DebugLevel)
			// As buildkitd --debug stamps its lines: to the nanosecond, so that steps can be timed from the log.
			logrus.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, TimestampFormat: time.RFC3339Nano})
		}
		logrus.SetOutput(buildKitLog)
	}
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
