#!/usr/bin/env bash
# Where the time of one cold build goes: runs `lkpkg pkg build` once on a fresh cache and state directory
# (the bundled busybox imported first, not timed) with BuildKit's rawjson progress, lkpkg's debug log and a
# CPU profile, then prints
#   1. a phase table (bench/phases): engine start and planning, each build step with its sub-tasks (base
#      image extraction, exporting layers, the timestamp rewrite, sending the result), each RUN container's
#      own phases (network, mounts, spec, start, process, unmount), and the cache commit after the last step;
#   2. the CPU profile's heaviest functions, cumulative, and the CPU time against the wall time.
#
# usage: bench/phases.sh [--package DIR] [--platforms LIST] [--keep] [-- extra pkg build flags]
#   --package DIR     the package to build (default examples/hello)
#   --platforms LIST  e.g. linux/amd64 (default: the package's own arches)
#   --keep            keep the temporary directory (its cpu.pprof and trace.out open with `go tool pprof`
#                     and `go tool trace`) and print where it is
# environment: LKPKG, the lkpkg binary (default bin/lkpkg of this repository).
# Needs root (RUN steps run containers) and Go (the table's reader is `go run ./bench/phases`).
set -euo pipefail

die() { echo "phases.sh: $*" >&2; exit 1; }
root=$(cd "$(dirname "$0")/.." && pwd)
lkpkg=${LKPKG:-$root/bin/lkpkg}
pkg=$root/examples/hello platforms= keep=0 extra=()
while [ $# -gt 0 ]; do
	case $1 in
	--package) [ $# -ge 2 ] || die "--package needs a directory"; pkg=$(cd "$2" && pwd); shift 2 ;;
	--platforms) [ $# -ge 2 ] || die "--platforms needs a list"; platforms=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	--) shift; extra=("$@"); break ;;
	-h|--help) sed -n '2,17s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done
[ "$(id -u)" = 0 ] || die "must run as root: RUN steps run containers"
[ -x "$lkpkg" ] || die "no lkpkg binary at $lkpkg: run 'make build' first, or set LKPKG"

tmp=$(mktemp -d /tmp/lkpkg-phases.XXXXXX)
if [ $keep = 1 ]; then echo "phases.sh: keeping $tmp" >&2; else trap 'rm -rf "$tmp"' EXIT; fi
tar -C "$root/examples/busybox-oci" -cf - . | "$lkpkg" --cache "$tmp/cache" cache import - >/dev/null

args=(--cache "$tmp/cache" -v 3 pkg build --progress rawjson --state-dir "$tmp/state")
[ -z "$platforms" ] || args+=(--platforms "$platforms")
start=$(date +%s%N)
LKPKG_CPUPROFILE=$tmp/cpu.pprof LKPKG_TRACE=$tmp/trace.out "$lkpkg" "${args[@]}" "${extra[@]}" "$pkg" >"$tmp/out" 2>&1 ||
	{ tail -20 "$tmp/out" >&2; die "the build failed"; }
end=$(date +%s%N)

(cd "$root" && go run -mod=vendor ./bench/phases -start "$start" -end "$end" "$tmp/out")
echo
go tool pprof -top -cum -nodecount 25 "$lkpkg" "$tmp/cpu.pprof" 2>/dev/null | sed -n '4,5p;7,40p'
