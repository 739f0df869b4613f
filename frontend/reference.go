package frontend

import "strings"

// ExpandReference applies linuxkit's ReferenceExpand: a bare name gets docker.io/library/, a two-component name
// whose first component is not a registry host (no '.' or ':', not localhost) gets docker.io/, anything else is
// kept as written. Cache entries and pushed names use this form, so it must match linuxkit exactly.
func ExpandReference(ref string) string {
	parts := strings.Split(ref, "/")
	switch {
	case len(parts) == 1:
		return "docker.io/library/" + ref
	case len(parts) == 2 && !strings.ContainsAny(parts[0], ".:") && parts[0] != "localhost":
		return "docker.io/" + ref
	}
	return ref
}

// ExpandReferenceWithTag is ExpandReference plus ":latest" when the reference names neither a tag nor a digest.
func ExpandReferenceWithTag(ref string) string {
	full := ExpandReference(ref)
	last := full[strings.LastIndex(full, "/")+1:]
	if !strings.ContainsAny(last, ":@") {
		full += ":latest"
	}
	return full
}
