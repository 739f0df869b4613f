package build

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/sshforward/sshprovider"
	pkgerrors "github.com/pkg/errors"
	"golang.org/x/crypto/ssh"
)

// SSHAgents makes the --ssh values (buildx's syntax: `default`, `<id>`, `<id>=<agent socket>` or
// `<id>=<key file>[,<key file>…]`, `raw=true` to pass a socket through as it is) into the session attachable that
// serves `RUN --mount=type=ssh[,id=<id>]`. A bare id uses $SSH_AUTH_SOCK. Keys are read and sockets checked now,
// so a wrong value fails before anything is built. It returns nil when specs is empty.
func SSHAgents(specs []string) (session.Attachable, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	confs := make([]sshprovider.AgentConfig, 0, len(specs))
	seen := map[string]string{}
	for _, spec := range specs {
		conf, err := parseSSH(spec)
		if err != nil {
			return nil, fmt.Errorf("--ssh %q: %w", spec, err)
		}
		if first, dup := seen[conf.ID]; dup {
			return nil, fmt.Errorf("--ssh %q: id %q is already given by --ssh %q: give each id once", spec, conf.ID, first)
		}
		seen[conf.ID] = spec
		confs = append(confs, conf)
	}
	p, err := sshprovider.NewSSHAgentProvider(confs)
	if err == nil {
		return p, nil
	}
	// Only now, each on its own, so that the error names the value at fault.
	for i, conf := range confs {
		if _, err := sshprovider.NewSSHAgentProvider([]sshprovider.AgentConfig{conf}); err != nil {
			return nil, fmt.Errorf("--ssh %q: %w", specs[i], sshHint(conf, err))
		}
	}
	return nil, fmt.Errorf("--ssh: %w", err)
}

func parseSSH(spec string) (sshprovider.AgentConfig, error) {
	id, paths, hasPaths := strings.Cut(spec, "=")
	conf := sshprovider.AgentConfig{ID: id}
	if id == "" {
		return conf, fmt.Errorf("no id: write default, <id>, or <id>=<socket or key file>")
	}
	if !hasPaths {
		return conf, nil
	}
	for _, p := range strings.Split(paths, ",") {
		if v, ok := strings.CutPrefix(p, "raw="); ok {
			raw, err := strconv.ParseBool(v)
			if err != nil {
				return conf, fmt.Errorf("raw=%s: want raw=true or raw=false", v)
			}
			conf.Raw = raw
			continue
		}
		if p == "" {
			return conf, fmt.Errorf("empty path: separate socket or key files with single commas")
		}
		conf.Paths = append(conf.Paths, p)
	}
	if conf.Raw && len(conf.Paths) != 1 {
		return conf, fmt.Errorf("raw=true passes one agent socket through: give exactly one path")
	}
	return conf, nil
}

// sshHint replaces BuildKit's layers of wrapping (which print the config struct) with the cause and what to do.
func sshHint(conf sshprovider.AgentConfig, err error) error {
	cause := pkgerrors.Cause(err)
	var keyErr *ssh.PassphraseMissingError
	switch {
	case len(conf.Paths) == 0 && strings.Contains(cause.Error(), "SSH_AUTH_SOCK"):
		return fmt.Errorf("$SSH_AUTH_SOCK is not set: start an agent (eval $(ssh-agent); ssh-add) or name a socket or key file: --ssh %s=<path>", conf.ID)
	case errors.As(cause, &keyErr):
		return fmt.Errorf("%w: load the key into an agent (ssh-add) and give its socket, or use a key without a passphrase", cause)
	case strings.HasPrefix(cause.Error(), "ssh: "):
		return fmt.Errorf("%w: each path must be an agent socket or an unencrypted private key file", cause)
	}
	return cause
}
