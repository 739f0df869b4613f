package treehash

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// gitEnv is the environment of every git process started here.
// GIT_OPTIONAL_LOCKS=0 keeps `git diff` from refreshing the index, so computing
// a tag never writes to the repository and never races a concurrent git command.
func gitEnv() []string { return append(os.Environ(), "GIT_OPTIONAL_LOCKS=0") }

// gitError is a failed git invocation, carrying what git printed on stderr.
type gitError struct {
	args   []string
	stderr string
	err    error
}

func (e *gitError) Error() string {
	msg := strings.TrimSpace(e.stderr)
	if msg == "" {
		msg = e.err.Error()
	}
	return fmt.Sprintf("git %s: %s", strings.Join(e.args, " "), msg)
}

func (e *gitError) Unwrap() error { return e.err }

// exitCode reports the exit status of a git process that ran and failed, or -1.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// gitCommand builds a git command run in dir.
func gitCommand(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = gitEnv()
	return cmd
}

// run runs one git process in dir and returns its stdout.
func (rs *Repos) run(dir string, args ...string) ([]byte, error) {
	rs.procs.Add(1)
	cmd := gitCommand(dir, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), wrapGitErr(args, stderr.String(), err)
	}
	return stdout.Bytes(), nil
}

func wrapGitErr(args []string, stderr string, err error) error {
	if errors.Is(err, exec.ErrNotFound) {
		return fmt.Errorf("git is not installed or not in PATH (lkpkg needs it to compute package tags): %w", err)
	}
	return &gitError{args: args, stderr: stderr, err: err}
}

// splitZ splits NUL-terminated git output into its records.
func splitZ(out []byte) []string {
	if len(out) == 0 {
		return nil
	}
	s := strings.TrimSuffix(string(out), "\x00")
	return strings.Split(s, "\x00")
}
