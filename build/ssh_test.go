package build

import (
	"reflect"
	"strings"
	"testing"

	"github.com/moby/buildkit/session/sshforward/sshprovider"
)

func TestParseSSH(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want sshprovider.AgentConfig
		err  string
	}{
		{spec: "default", want: sshprovider.AgentConfig{ID: "default"}},
		{spec: "deploy=/run/agent.sock", want: sshprovider.AgentConfig{ID: "deploy", Paths: []string{"/run/agent.sock"}}},
		{spec: "default=/k/a,/k/b", want: sshprovider.AgentConfig{ID: "default", Paths: []string{"/k/a", "/k/b"}}},
		{spec: "x=/s,raw=true", want: sshprovider.AgentConfig{ID: "x", Paths: []string{"/s"}, Raw: true}},
		{spec: "x=/s,raw=false", want: sshprovider.AgentConfig{ID: "x", Paths: []string{"/s"}}},
		{spec: "=/k", err: "no id"},
		{spec: "x=/a,,/b", err: "empty path"},
		{spec: "x=/a,/b,raw=true", err: "exactly one path"},
		{spec: "x=/a,raw=maybe", err: "raw=true or raw=false"},
	} {
		got, err := parseSSH(tc.spec)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: got %v, want an error mentioning %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, %v; want %+v", tc.spec, got, err, tc.want)
		}
	}
}

func TestSSHAgentsDuplicateID(t *testing.T) {
	_, err := SSHAgents([]string{"a=/x", "b=/y", "a=/z"})
	if err == nil || !strings.Contains(err.Error(), `--ssh "a=/z": id "a" is already given by --ssh "a=/x"`) {
		t.Fatalf("got %v", err)
	}
}

func TestSSHAgentsNamesTheBadValue(t *testing.T) {
	t.Setenv("SSH_AUTH_SOCK", "")
	if a, err := SSHAgents(nil); a != nil || err != nil {
		t.Fatalf("no --ssh: got %v, %v; want nothing", a, err)
	}
	for spec, want := range map[string]string{
		"default":          "$SSH_AUTH_SOCK is not set",
		"k=/nonexistent/k": `--ssh "k=/nonexistent/k": stat /nonexistent/k: no such file`,
		"k=/dev/null":      "agent socket or an unencrypted private key file",
	} {
		if _, err := SSHAgents([]string{spec}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("--ssh %s: got %v, want an error mentioning %q", spec, err, want)
		}
	}
}
