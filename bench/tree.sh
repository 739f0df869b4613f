#!/usr/bin/env bash
# A whole tree, cold: 40 small packages of one git repository (busybox base, one RUN, one COPY; every fourth
# package is built FROM the package before it, named through an @lkt:pkg: build arg) built for linux/amd64
#   - by one `lkpkg pkg build` of all 40 (fresh cache and state dir, the bundled busybox imported first),
#   - by buildctl, one package after another, against one buildkitd (daemon start and stop timed; fresh root),
#     each result exported as an OCI layout that the packages built FROM it read as a named context,
# the peer twice: at its defaults, and making lkpkg's reproducible images (SOURCE_DATE_EPOCH build arg and
# rewrite-timestamp=true). Prints medians and the ratios (target: lkpkg <= 0.5 x the buildctl loop), then the
# time of a re-run of all 40 by one lkpkg when every tag is cached, per package (target <= 50 ms).
#
# usage: bench/tree.sh [-n RUNS] [--packages N] [--keep]
#   -n RUNS         timed runs of each, alternating the order (default 3)
#   --packages N    packages in the tree (default 40)
#   --keep          keep the temporary directory
# environment: LKPKG (default bin/lkpkg), BUILDKIT_VERSION (default: the one lkpkg embeds, from go.mod).
# Needs root, git, runc (buildkitd's OCI worker) and, the first time, Go (buildkitd is built from the module
# proxy into ~/.cache/lkpkg-bench, see bench/buildkit.sh).
set -euo pipefail

die() { echo "tree.sh: $*" >&2; exit 1; }
runs=3 npkgs=40 keep=0
while [ $# -gt 0 ]; do
	case $1 in
	-n) [ $# -ge 2 ] || die "-n needs a number"; runs=$2; shift 2 ;;
	--packages) [ $# -ge 2 ] || die "--packages needs a number"; npkgs=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	-h|--help) sed -n '2,18s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done
case $runs$npkgs in *[!0-9]*) die "-n and --packages want positive numbers" ;; esac
[ "$(id -u)" = 0 ] || die "must run as root: RUN steps run containers"

root=$(cd "$(dirname "$0")/.." && pwd)
lkpkg=${LKPKG:-$root/bin/lkpkg}
[ -x "$lkpkg" ] || die "no lkpkg binary at $lkpkg: run 'make build' first, or set LKPKG"
fixture=$root/examples/busybox-oci
work=$(mktemp -d /tmp/lkpkg-tree.XXXXXX)
cleanup() {
	[ -z "${bkd:-}" ] || { kill "$bkd" 2>/dev/null; wait "$bkd" 2>/dev/null || true; }
	awk -v d="$work/" 'index($2 "/", d) == 1 { print $2 }' /proc/self/mounts | sort -r | xargs -r umount -l
	if [ $keep = 1 ]; then echo "tree.sh: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
# shellcheck source=bench/buildkit.sh
. "$root/bench/buildkit.sh"
ensure_buildkit "$work" || die "no buildkitd"

# --- the tree: pkg/p00 … ------------------------------------------------------------------------------------
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@lkpkg.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@lkpkg.invalid
repo=$work/repo
git init -q "$repo"
pkgs=()
for ((i = 0; i < npkgs; i++)); do
	p=$(printf 'p%02d' "$i") dir=$repo/pkg/$p
	mkdir -p "$dir"
	echo "file of $p" >"$dir/file"
	if [ $((i % 4)) = 3 ]; then
		printf 'image: %s\norg: lkpkg-tree\narches: [amd64]\nbuildArgs:\n  - BASE=@lkt:pkg:../%s\n' "$p" "${pkgs[-1]}" >"$dir/build.yml"
		printf 'ARG BASE\nFROM ${BASE}\nRUN echo %s >> /ids\nCOPY file /%s\n' "$p" "$p" >"$dir/Dockerfile"
	else
		printf 'image: %s\norg: lkpkg-tree\narches: [amd64]\n' "$p" >"$dir/build.yml"
		printf 'FROM busybox:fixture\nRUN echo %s > /ids\nCOPY file /%s\n' "$p" "$p" >"$dir/Dockerfile"
	fi
	pkgs+=("$p")
done
git -C "$repo" add -A && git -C "$repo" commit -qm tree
sde=$(git -C "$repo" log -1 --format=%ct)
fixture_digest=$(tr -d ' \n\t' <"$fixture/index.json" | grep -o '"digest":"sha256:[0-9a-f]\{64\}"' | head -n1 |
	grep -o 'sha256:[0-9a-f]*')

now_us() { echo "${EPOCHREALTIME//[!0-9]/}"; }
median() { sort -n "$1" | sed -n "$((($(wc -l <"$1") + 1) / 2))p"; }
ms() { printf '%d.%03d s' $(($1 / 1000000)) $(($1 / 1000 % 1000)); }
ratio() { local r=$((($1 * 100 + $2 / 2) / $2)); printf '%d.%02d' $((r / 100)) $((r % 100)); }

run_lkpkg() {
	local d=$work/lk t0
	rm -rf "$d" && mkdir -p "$d"
	t0=$(now_us)
	tar -C "$fixture" -cf - . | "$lkpkg" --cache "$d/cache" cache import - >/dev/null
	"$lkpkg" --cache "$d/cache" pkg build --state-dir "$d/state" "${pkgs[@]/#/$repo/pkg/}" >"$work/log.lkpkg" 2>&1 ||
		{ tail -20 "$work/log.lkpkg" >&2; die "lkpkg failed"; }
	echo $(($(now_us) - t0)) >>"$work/t.lkpkg"
	[ "$(grep -c '^lkpkg-tree/' "$work/log.lkpkg")" = "$npkgs" ] || die "lkpkg did not print $npkgs tags"
}

# run_buildctl NAME REPRO: the buildctl loop; REPRO 1 makes reproducible images as lkpkg does.
run_buildctl() {
	local name=$1 repro=$2 d=$work/bk sock i p base t0 digest
	local -a args
	rm -rf "$d" && mkdir -p "$d/out"
	sock=unix://$d/buildkitd.sock
	t0=$(now_us)
	PATH=/usr/sbin:$PATH "$bk_bin/buildkitd" --root "$d/root" --addr "$sock" --oci-worker=true \
		--containerd-worker=false >"$work/log.buildkitd" 2>&1 &
	bkd=$!
	for ((i = 0; i < 600; i++)); do "$bk_bin/buildctl" --addr "$sock" debug workers >/dev/null 2>&1 && break; sleep 0.02; done
	for i in "${!pkgs[@]}"; do
		p=${pkgs[$i]}
		args=(--oci-layout "busybox=$fixture" --opt "context:busybox:fixture=oci-layout://busybox@$fixture_digest")
		if [ $((i % 4)) = 3 ]; then
			base=${pkgs[$((i - 1))]}
			digest=$(tr -d ' \n\t' <"$d/out/$base/index.json" | grep -o 'sha256:[0-9a-f]\{64\}' | head -n1)
			args+=(--oci-layout "base=$d/out/$base" --opt "build-arg:BASE=lkpkg-tree/$base:bench"
				--opt "context:lkpkg-tree/$base:bench=oci-layout://base@$digest")
		fi
		out="type=oci,dest=$d/out/$p,tar=false"
		if [ "$repro" = 1 ]; then
			args+=(--opt "build-arg:SOURCE_DATE_EPOCH=$sde")
			out+=",rewrite-timestamp=true"
		fi
		"$bk_bin/buildctl" --addr "$sock" build --progress plain --frontend dockerfile.v0 \
			--local "context=$repo/pkg/$p" --local "dockerfile=$repo/pkg/$p" --opt platform=linux/amd64 \
			"${args[@]}" --output "$out" >>"$work/log.$name" 2>&1 || { tail -20 "$work/log.$name" >&2; die "buildctl failed on $p"; }
	done
	kill "$bkd" && wait "$bkd" 2>/dev/null || true
	bkd=
	echo $(($(now_us) - t0)) >>"$work/t.$name"
	awk -v d="$d/" 'index($2 "/", d) == 1 { print $2 }' /proc/self/mounts | sort -r | xargs -r umount -l
}
run_buildctldef() { run_buildctl buildctldef 0; }
run_buildctlrepro() { run_buildctl buildctlrepro 1; }

tools=(lkpkg buildctldef buildctlrepro)
echo "tree.sh: $npkgs packages, 1 warm-up + $runs timed runs of: ${tools[*]}" >&2
for tool in "${tools[@]}"; do "run_$tool"; done
rm -f "$work"/t.*
for ((r = 0; r < runs; r++)); do
	order=("${tools[@]}")
	[ $((r % 2)) = 0 ] || order=(buildctlrepro buildctldef lkpkg)
	for tool in "${order[@]}"; do "run_$tool"; done
done

# The cached re-run: the last cold lkpkg run's cache and state dir, every tag found there; lkpkg only.
cached_runs=$((runs * 3))
: >"$work/t.cached"
for ((r = 0; r < cached_runs; r++)); do
	t0=$(now_us)
	"$lkpkg" --cache "$work/lk/cache" pkg build --state-dir "$work/lk/state" "${pkgs[@]/#/$repo/pkg/}" >"$work/log.cached" 2>&1 ||
		{ tail -20 "$work/log.cached" >&2; die "lkpkg cached re-run failed"; }
	echo $(($(now_us) - t0)) >>"$work/t.cached"
	[ "$(grep -c 'in the cache; not building' "$work/log.cached")" = "$npkgs" ] || die "the cached re-run built something (see $work/log.cached)"
done

t_lk=$(median "$work/t.lkpkg") t_def=$(median "$work/t.buildctldef") t_rep=$(median "$work/t.buildctlrepro")
t_cached=$(median "$work/t.cached")
echo "cold build of a $npkgs-package tree (linux/amd64; every 4th FROM the one before), median of $runs runs,"
echo "on $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '  %-58s %10s\n' "lkpkg pkg build (one run, all packages)" "$(ms "$t_lk")"
printf '  %-58s %10s\n' "buildctl loop, one buildkitd $bk_version, defaults" "$(ms "$t_def")"
printf '  %-58s %10s\n' "buildctl loop, reproducible (SOURCE_DATE_EPOCH, rewrite)" "$(ms "$t_rep")"
printf '  %-58s %10s  (target <= 0.50)\n' "lkpkg / buildctl loop at its defaults" "$(ratio "$t_lk" "$t_def")"
printf '  %-58s %10s  (information: equal work)\n' "lkpkg / buildctl loop, both reproducible" "$(ratio "$t_lk" "$t_rep")"
printf '  %-58s %10s\n' "lkpkg re-run, all $npkgs cached (median of $cached_runs)" "$(ms "$t_cached")"
printf '  %-58s %7d ms  (target <= 50 ms)\n' "  per package" $((t_cached / npkgs / 1000))
