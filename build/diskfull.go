package build

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/docker/go-units"
	"github.com/moby/buildkit/util/disk"

	"github.com/lkpkg/lkpkg/executor"
)

// fullBelow is the free space under which a filesystem counts as full: a RUN step that fills it sees its own
// write fail and exits, and BuildKit reports only the exit code.
const fullBelow = 1 << 20

// writePlace is a directory a build writes into, with how to make room there.
type writePlace struct {
	what, dir, fix string
}

// DiskFullError is a build that failed because a directory lkpkg writes into ran out of space.
type DiskFullError struct {
	What, Dir, Fix string
	Free           int64 // bytes free on Dir's filesystem when the build failed; -1 when unknown
	// Cause is the build's error; Error repeats it only when it does not itself say that space ran out (a RUN
	// step's exit code), since what ran out of space is then the one thing to know.
	Cause error
}

func (e *DiskFullError) Error() string {
	free := ""
	if e.Free >= 0 {
		free = " (" + units.BytesSize(float64(e.Free)) + " free)"
	}
	msg := fmt.Sprintf("%s %s ran out of space%s: %s", e.What, e.Dir, free, e.Fix)
	if executor.IsNoSpace(e.Cause) {
		return msg
	}
	return fmt.Sprintf("%v; %s", e.Cause, msg)
}

func (e *DiskFullError) Unwrap() error { return e.Cause }

// writePlaces are the directories this builder's builds write into: the in-process engine's state dir (when it
// runs) and the linuxkit cache.
func (b *Builder) writePlaces() []writePlace {
	var places []writePlace
	if dir := b.stateDir.Load(); dir != nil {
		places = append(places, writePlace{"the build state directory", *dir,
			`free space on its filesystem, run "lkpkg pkg builder prune", or point --state-dir elsewhere`})
	}
	if b.cache != nil {
		places = append(places, writePlace{"the linuxkit cache", b.cache.Dir(),
			`free space on its filesystem, remove images with "lkpkg cache rm", or point --cache elsewhere`})
	}
	return places
}

// explainDiskFull turns a build error caused by a full directory of places into a DiskFullError naming it.
// A write that failed with ENOSPC names its file, which tells the directory; a RUN step that filled the state dir
// only exits non-zero, so a filesystem left (nearly) without free space tells it then. Other errors, and a full
// directory lkpkg does not own (such as /tmp), pass unchanged.
func explainDiskFull(err error, places []writePlace, freeSpace func(dir string) (int64, error)) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	var already *DiskFullError
	if errors.As(err, &already) {
		return err
	}
	free := func(dir string) int64 {
		n, ferr := freeSpace(dir)
		if ferr != nil {
			return -1
		}
		return n
	}
	if executor.IsNoSpace(err) {
		msg := err.Error()
		for _, p := range places {
			if strings.Contains(msg, strings.TrimSuffix(p.dir, "/")+"/") {
				return &DiskFullError{What: p.what, Dir: p.dir, Fix: p.fix, Free: free(p.dir), Cause: err}
			}
		}
	}
	for _, p := range places {
		if n := free(p.dir); n >= 0 && n < fullBelow {
			return &DiskFullError{What: p.what, Dir: p.dir, Fix: p.fix, Free: n, Cause: err}
		}
	}
	return err
}

// availableSpace is the free space on dir's filesystem that unprivileged writers may use.
func availableSpace(dir string) (int64, error) {
	st, err := disk.GetDiskStat(dir)
	if err != nil {
		return 0, err
	}
	return st.Available, nil
}
