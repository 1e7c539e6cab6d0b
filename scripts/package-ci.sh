#!/usr/bin/env bash
# The packaging half of CI, kept out of scripts/test.sh so that it stays
# fast: installs the cross toolchains, builds loa for amd64, arm64 and
# armhf, makes the .deb packages, checks them with lintian, and runs the
# package tests (contents, systemd units, install → join → run → upgrade →
# remove → purge in a Debian chroot, qemu renders of arm64/armhf against
# amd64) and the cold start benchmark. Needs root (chroot, dpkg in the throwaway root).
#
# Environment: OUT (dist), CHROOT (the base root, default OUT/chroot-bookworm,
# made with debootstrap when missing; delete it to make a fresh one),
# MIRROR (http://deb.debian.org/debian).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "package-ci.sh: run as root (apt-get, debootstrap and chroot need it)" >&2
  exit 1
fi
export PATH="$PATH:/usr/local/go/bin"
out=${OUT:-dist}
chroot=${CHROOT:-$out/chroot-bookworm}
started=$(date +%s)
step() { echo "== $* ($(( $(date +%s) - started )) s)"; }

step "dependencies"
bash scripts/deps.sh
bash scripts/build-deps.sh

step "build amd64 arm64 armhf"
rm -rf "$out/amd64" "$out/arm64" "$out/armhf" "$out/deb"
OUT=$out scripts/build.sh amd64 arm64 armhf

step "packages"
# xz is single-threaded per package: the three architectures side by side.
pids=()
for a in amd64 arm64 armhf; do OUT=$out scripts/package.sh "$a" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p"; done

step "lintian"
# Debian policy: no errors, and no warnings but those overridden with a
# reason (packaging/deb/PKG/lintian-overrides). One process per
# architecture, side by side.
pids=()
for a in amd64 arm64 armhf; do
  lintian --fail-on error,warning --display-level '>=warning' "$out"/deb/*_"$a".deb > "$out/lintian-$a.log" 2>&1 & pids+=($!)
done
lint=0
for p in "${pids[@]}"; do wait "$p" || lint=1; done
cat "$out"/lintian-*.log
if [ $lint -ne 0 ]; then
  echo "lintian found errors or warnings (above): fix them, or override one with its reason"
  exit 1
fi

if [ ! -x "$chroot/usr/bin/dpkg" ]; then
  step "debootstrap bookworm (minbase) into $chroot"
  rm -rf "$chroot"
  debootstrap --variant=minbase --include=adduser,libasound2 bookworm "$chroot" "${MIRROR:-http://deb.debian.org/debian}" >"$out/debootstrap.log" 2>&1 ||
    { tail -20 "$out/debootstrap.log"; exit 1; }
fi

step "package tests"
rc=0
LOA_DIST=$(realpath "$out") LOA_CHROOT=$(realpath "$chroot") \
  go test -count=1 -timeout 20m -v -run 'Package|Qemu|SystemdUnits|ExampleConfig' ./e2e/ >"$out/package-tests.log" 2>&1 || rc=$?
grep -E '^\s*(--- |PASS|FAIL|ok|panic)|package_test.go' "$out/package-tests.log" || true
if [ $rc -ne 0 ]; then
  echo "package tests failed; the whole log is $out/package-tests.log"
  exit $rc
fi

step "cold start benchmark"
LOA_DIST=$(realpath "$out") go test -count=1 -run '^$' -bench 'AgentColdStart' -benchtime 5x ./e2e/

step "sizes"
ls -l "$out"/amd64 "$out"/arm64 "$out"/armhf "$out"/deb
step "done"
