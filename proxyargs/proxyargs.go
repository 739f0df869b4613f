// Package proxyargs turns the proxy variables of the caller's environment into build arguments.
//
// linuxkit hands them to BuildKit as bare frontend attributes, which the Dockerfile frontend ignores, so its
// builds never see a proxy. BuildKit predefines these names as ARGs (usable in RUN without an ARG line, and kept
// out of the image history), so passing them as real `build-arg:`s is what users expect.
package proxyargs

import "strings"

// Names are the proxy variables passed through, in both cases.
var Names = []string{"http_proxy", "https_proxy", "ftp_proxy", "no_proxy", "all_proxy"}

// FromEnv returns the proxy variables set (non-empty) in environ, as KEY=VALUE pairs keyed by the exact name
// found. Both the lower- and upper-case forms are passed when both are set.
func FromEnv(environ []string) map[string]string {
	wanted := map[string]bool{}
	for _, n := range Names {
		wanted[n] = true
		wanted[strings.ToUpper(n)] = true
	}
	args := map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && v != "" && wanted[k] {
			args[k] = v
		}
	}
	return args
}
