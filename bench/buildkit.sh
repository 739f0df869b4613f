# Sourced by the benchmarks that run BuildKit's own daemon as the peer (tree.sh, builders.sh).
# ensure_buildkit WORKDIR sets bk_version (BUILDKIT_VERSION, default the version lkpkg embeds, from $root/go.mod) and
# bk_bin, where buildkitd and buildctl are; the first time, it builds them from the Go module proxy there
# (${XDG_CACHE_HOME:-$HOME/.cache}/lkpkg-bench/buildkit-<version>/bin), using WORKDIR for the sources.
ensure_buildkit() {
	local work=$1 dir
	bk_version=${BUILDKIT_VERSION:-$(awk '$1 == "github.com/moby/buildkit" { print $2 }' "$root/go.mod")}
	bk_bin=${XDG_CACHE_HOME:-$HOME/.cache}/lkpkg-bench/buildkit-$bk_version/bin
	if [ ! -x "$bk_bin/buildkitd" ] || [ ! -x "$bk_bin/buildctl" ]; then
		echo "building buildkitd and buildctl $bk_version into $bk_bin (once; about two minutes)" >&2
		dir=$(cd "$work" && GOFLAGS= go mod download -json "github.com/moby/buildkit@$bk_version" |
			sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || return 1
		cp -r "$dir" "$work/bk-src" && chmod -R u+w "$work/bk-src" || return 1
		(cd "$work/bk-src" && GOFLAGS=-mod=mod go build -trimpath \
			-ldflags "-X github.com/moby/buildkit/version.Version=$bk_version" \
			-o "$bk_bin/" ./cmd/buildkitd ./cmd/buildctl) || return 1
		rm -rf "$work/bk-src"
	fi
	command -v runc >/dev/null || [ -x /usr/sbin/runc ] || { echo "buildkitd's OCI worker needs runc (apt-get install runc)" >&2; return 1; }
}
