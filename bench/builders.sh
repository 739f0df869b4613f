#!/usr/bin/env bash
# Times lkpkg's client paths against their peers, measured in the same run, and prints ratios with the targets
# next to them (information only: it never fails on a missed target).
#
#   1. remote builder: lkpkg pkg build --builders linux/amd64=unix://… of examples/hello (amd64 only) vs
#      buildctl build of the same package (same named context, build arg and exporter options) against the same
#      buildkitd; every run with no cache (--disable-cache / --no-cache), alternating the tools. Target ≤ 1.1.
#      Also against buildctl at its own defaults (no SOURCE_DATE_EPOCH, no timestamp rewrite), for information.
#   2. shared engine: 4 lkpkg pkg build processes started at once on one fresh state dir, each building a
#      different package, vs the slowest of the four built alone on a fresh state dir. Target ≤ 1.5 (one state
#      dir used to mean waiting in line). Twice: packages bound by the CPU (examples/hello's Dockerfile with a
#      different greeting, all three arches, QEMU for two: on 2 cores four of them take about twice one whatever
#      the engine does), and packages whose RUN step waits a second (sleep, as a download would).
#
# usage: bench/builders.sh [-n RUNS] [--keep]
# environment: LKPKG (default bin/lkpkg), BUILDKIT_VERSION (default: go.mod's)
# Needs root, git, Go the first time (buildkitd and buildctl are built from the Go module proxy into
# ${XDG_CACHE_HOME:-$HOME/.cache}/lkpkg-bench, as bench/build.sh does), runc, QEMU binfmt for arm64 and s390x.
set -euo pipefail

die() { echo "builders.sh: $*" >&2; exit 1; }
runs=3 keep=0
while [ $# -gt 0 ]; do
	case $1 in
	-n) runs=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	-h|--help) sed -n '2,17s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done
[ "$(id -u)" = 0 ] || die "must run as root"
root=$(cd "$(dirname "$0")/.." && pwd)
lkpkg=${LKPKG:-$root/bin/lkpkg}
[ -x "$lkpkg" ] || die "no lkpkg binary at $lkpkg: run 'make build' first, or set LKPKG"
fixture=$root/examples/busybox-oci
fixture_digest=$(tr -d ' \n\t' <"$fixture/index.json" | grep -o '"digest":"sha256:[0-9a-f]\{64\}"' | head -n1 |
	grep -o 'sha256:[0-9a-f]*')
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@lkpkg.invalid GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@lkpkg.invalid
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE LINUXKIT_BUILDERS

work=$(mktemp -d "${TMPDIR:-/tmp}/lkpkg-bench-builders.XXXXXX")
bkd_pid=""
unmount_under() {
	awk -v d="$1/" 'index($2 "/", d) == 1 { print $2 }' /proc/self/mounts | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null || true; done
}
cleanup() {
	local rc=$?
	[ -n "$bkd_pid" ] && kill "$bkd_pid" 2>/dev/null && wait "$bkd_pid" 2>/dev/null
	unmount_under "$work"
	if [ $keep = 1 ]; then echo "builders.sh: kept $work" >&2; else rm -rf "$work"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
now_us() { echo "${EPOCHREALTIME//[!0-9]/}"; }
median() { sort -n "$1" | sed -n "$((($(wc -l <"$1") + 1) / 2))p"; }
ms() { printf '%d.%03d s' $(($1 / 1000000)) $(($1 / 1000 % 1000)); }
ratio() { local r=$((($1 * 100 + $2 / 2) / $2)); printf '%d.%02d' $((r / 100)) $((r % 100)); }

# shellcheck source=bench/buildkit.sh
. "$root/bench/buildkit.sh"
ensure_buildkit "$work" || die "no buildkitd"

# The packages: examples/hello as h0…h3, each with its own greeting so that no two share a RUN result.
repo=$work/repo
mkdir -p "$repo"
git -C "$repo" init -q
for i in 0 1 2 3; do
	cp -r "$root/examples/hello" "$repo/h$i"
	sed -i "s/^image: hello\$/image: h$i/; s/hello from/hello $i from/" "$repo/h$i/build.yml" "$repo/h$i/Dockerfile"
	# w0…w3 wait rather than compute (a RUN step that sleeps, as one downloading would): what sharing an engine
	# gains when the builds are not bound by the CPU.
	mkdir -p "$repo/w$i"
	printf 'image: w%s\narches: [%s]\n' "$i" "$(uname -m | sed 's/x86_64/amd64/; s/aarch64/arm64/')" >"$repo/w$i/build.yml"
	printf 'FROM busybox:fixture\nRUN sleep 1 && echo %s > /n\n' "$i" >"$repo/w$i/Dockerfile"
done
git -C "$repo" add -A && git -C "$repo" commit -q -m bench
sde=$(git -C "$repo" log -1 --format=%ct -- h0)
new_cache() { # new_cache DIR: a linuxkit cache holding the fixture
	tar -C "$fixture" -cf - . | "$lkpkg" --cache "$1" cache import - >/dev/null 2>&1
}

# --- 1. remote builder vs buildctl ---------------------------------------------------------------------------
d=$work/bk
mkdir -p "$d"
sock=unix://$d/buildkitd.sock
PATH=/usr/sbin:$PATH "$bk_bin/buildkitd" --root "$d/root" --addr "$sock" --otel-socket-path "$d/otel.sock" \
	--oci-worker=true --containerd-worker=false >"$work/log.buildkitd" 2>&1 &
bkd_pid=$!
for i in $(seq 1 600); do "$bk_bin/buildctl" --addr "$sock" debug workers >/dev/null 2>&1 && break; sleep 0.05; done
new_cache "$work/cache1"
for r in $(seq 1 "$runs"); do
	t0=$(now_us)
	"$lkpkg" --cache "$work/cache1" pkg build --force --disable-cache --platforms linux/amd64 --progress plain \
		--state-dir "$work/state1" --builders "linux/amd64=$sock" "$repo/h0" >"$work/log.lkpkg" 2>&1 ||
		{ tail "$work/log.lkpkg" >&2; die "lkpkg through the builder failed"; }
	t1=$(now_us)
	"$bk_bin/buildctl" --addr "$sock" build --no-cache --progress plain --frontend dockerfile.v0 \
		--local "context=$repo/h0" --local "dockerfile=$repo/h0" --opt platform=linux/amd64 --opt cmdline= \
		--opt force-network-mode=none --opt "context:busybox:fixture=oci-layout://busybox@$fixture_digest" \
		--opt "build-arg:SOURCE_DATE_EPOCH=$sde" --oci-layout "busybox=$fixture" \
		--output "type=oci,dest=$work/h0.tar,rewrite-timestamp=true" >"$work/log.buildctl" 2>&1 ||
		{ tail "$work/log.buildctl" >&2; die "buildctl failed"; }
	t2=$(now_us)
	# buildctl at its own defaults: no SOURCE_DATE_EPOCH, no timestamp rewrite (what a user of it sees).
	"$bk_bin/buildctl" --addr "$sock" build --no-cache --progress plain --frontend dockerfile.v0 \
		--local "context=$repo/h0" --local "dockerfile=$repo/h0" --opt platform=linux/amd64 \
		--opt "context:busybox:fixture=oci-layout://busybox@$fixture_digest" --oci-layout "busybox=$fixture" \
		--output "type=oci,dest=$work/h0.tar" >"$work/log.buildctl" 2>&1 ||
		{ tail "$work/log.buildctl" >&2; die "buildctl at its defaults failed"; }
	t3=$(now_us)
	echo $((t1 - t0)) >>"$work/t.remote"
	echo $((t2 - t1)) >>"$work/t.buildctl"
	echo $((t3 - t2)) >>"$work/t.buildctldef"
done
kill "$bkd_pid"; wait "$bkd_pid" 2>/dev/null || true; bkd_pid=""
r_l=$(median "$work/t.remote") r_b=$(median "$work/t.buildctl") r_d=$(median "$work/t.buildctldef")

# --- 2. four concurrent lkpkg on one state dir vs the slowest alone ------------------------------------------
# shared PREFIX NAME: packages PREFIX0…PREFIX3, alone then at once; times into $work/t.NAME.{alone,concurrent}.
shared() {
	local prefix=$1 name=$2 r i t t0 slowest p
	local -a pids
	for r in $(seq 1 "$runs"); do
		slowest=0
		for i in 0 1 2 3; do
			rm -rf "$work/a"; mkdir -p "$work/a"; new_cache "$work/a/cache"
			t0=$(now_us)
			"$lkpkg" --cache "$work/a/cache" pkg build --state-dir "$work/a/state" --progress plain "$repo/$prefix$i" \
				>"$work/log.alone" 2>&1 || { tail "$work/log.alone" >&2; die "lkpkg alone failed"; }
			t=$(($(now_us) - t0))
			[ $t -gt $slowest ] && slowest=$t
			unmount_under "$work/a"
		done
		echo $slowest >>"$work/t.$name.alone"
		rm -rf "$work/c"; mkdir -p "$work/c"; new_cache "$work/c/cache"
		t0=$(now_us)
		pids=()
		for i in 0 1 2 3; do
			"$lkpkg" --cache "$work/c/cache" pkg build --state-dir "$work/c/state" --progress plain "$repo/$prefix$i" \
				>"$work/log.c$i" 2>&1 &
			pids+=($!)
		done
		for p in "${pids[@]}"; do wait "$p" || die "a concurrent lkpkg failed (see $work/log.c*)"; done
		echo $(($(now_us) - t0)) >>"$work/t.$name.concurrent"
		unmount_under "$work/c"
	done
}
shared h cpu
shared w wait
c_c=$(median "$work/t.cpu.concurrent") c_a=$(median "$work/t.cpu.alone")
w_c=$(median "$work/t.wait.concurrent") w_a=$(median "$work/t.wait.alone")

echo "lkpkg builder benchmarks ($runs runs each, medians; $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg))"
printf '  remote builder:  lkpkg --builders %s, buildctl with the same options %s: ratio %s (target <= 1.1)\n' "$(ms "$r_l")" "$(ms "$r_b")" "$(ratio "$r_l" "$r_b")"
printf '                   buildctl at its defaults %s: ratio %s (information)\n' "$(ms "$r_d")" "$(ratio "$r_l" "$r_d")"
printf '  shared engine:   4 concurrent %s, slowest alone %s: ratio %s (target <= 1.5; 3-arch builds bound by the CPU)\n' "$(ms "$c_c")" "$(ms "$c_a")" "$(ratio "$c_c" "$c_a")"
printf '                   4 concurrent %s, slowest alone %s: ratio %s (target <= 1.5; builds whose RUN step waits 1 s)\n' "$(ms "$w_c")" "$(ms "$w_a")" "$(ratio "$w_c" "$w_a")"
