// Command sshagent prints the SHA256 fingerprint of each identity the SSH agent at $SSH_AUTH_SOCK holds, one a
// line. The e2e tests build it statically and run it in a build container to see what `pkg build --ssh` forwards.
package main

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

func main() {
	conn, err := net.Dial("unix", os.Getenv("SSH_AUTH_SOCK"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "sshagent:", err)
		os.Exit(1)
	}
	defer conn.Close()
	keys, err := agent.NewClient(conn).List()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sshagent: listing identities:", err)
		os.Exit(1)
	}
	for _, k := range keys {
		fmt.Println(ssh.FingerprintSHA256(k))
	}
}
