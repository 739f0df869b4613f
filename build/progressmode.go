package build

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

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
