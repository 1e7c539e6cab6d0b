#!/usr/bin/env bash
# Builds loa's binaries for Linux into dist/ARCH/: loa-agent (cgo, ALSA),
# loa-city and loactl (pure Go, static).
#
#   scripts/build.sh [ARCH...]     ARCH: amd64 arm64 armhf (default: this machine's)
#   scripts/build.sh version       the version stamped into the binaries (git describe)
#   scripts/build.sh deb-version   the same as a Debian version (for scripts/package.sh)
#
# Cross builds use Debian's multiarch cross compilers and the target's
# libasound2-dev (scripts/build-deps.sh installs them).
#
# armhf means ARMv7 with VFPv3-D16 (GOARM=7), Debian's armhf: Raspberry Pi
# 2, 3, 4, 5 and Zero 2 W on 32-bit Raspberry Pi OS. The ARMv6 Pis (1, Zero,
# Zero W) are not targeted: Debian's armhf cross toolchain and libraries
# (C runtime start files included) are ARMv7 code, so a binary linked with
# them crashes there; the package refuses to install on armv6l. loa-city
# and loactl, pure Go, are built for ARMv6 and run on every Pi.
#
# Environment: VERSION overrides the version; OUT the output folder (dist).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

version() {
  if [ -n "${VERSION:-}" ]; then echo "$VERSION"; return; fi
  git describe --tags --always --dirty 2>/dev/null || echo dev
}

# deb_version maps git describe to a Debian version that sorts the same
# way: v1.2.0 → 1.2.0; v1.2.0-5-gabc1234 → 1.2.0+git5.abc1234; no tag →
# 0.0.0+git<commits>.<hash> (the commit count keeps upgrades in order); a
# dirty tree adds .dirty.
deb_version() {
  local v dirty="" n
  v=$(version)
  case "$v" in *-dirty) dirty=".dirty"; v=${v%-dirty} ;; esac
  v=${v#v}
  if [[ "$v" =~ ^[0-9a-f]{7,40}$ ]]; then
    # No tag: an abbreviated commit hash.
    n=$(git rev-list --count HEAD 2>/dev/null || echo 0)
    echo "0.0.0+git${n}.${v}${dirty}"
  elif [[ "$v" =~ ^([0-9][0-9A-Za-z.~+]*)-([0-9]+)-g([0-9a-f]+)$ ]]; then
    echo "${BASH_REMATCH[1]}+git${BASH_REMATCH[2]}.${BASH_REMATCH[3]}${dirty}"
  elif [[ "$v" =~ ^[0-9][0-9A-Za-z.~+-]*$ ]]; then
    # A release tag; v2.0-rc1 → 2.0~rc1, which sorts before 2.0.
    echo "${v//-/\~}${dirty}"
  else
    # A tag that is not a version (or "dev" outside git).
    echo "0.0.0+$(echo "$v" | tr -c '0-9A-Za-z\n' '.')${dirty}"
  fi
}

native_arch() {
  case "$(go env GOARCH)" in
    amd64) echo amd64 ;;
    arm64) echo arm64 ;;
    arm) echo armhf ;;
    *) go env GOARCH ;;
  esac
}

build_arch() {
  local arch=$1 out=${OUT:-dist}/$1 v
  v=$(version)
  local goarch goarm="" triplet cc
  case "$arch" in
    amd64) goarch=amd64 triplet=x86_64-linux-gnu ;;
    arm64) goarch=arm64 triplet=aarch64-linux-gnu ;;
    armhf) goarch=arm goarm=7 triplet=arm-linux-gnueabihf ;;
    *) echo "build.sh: unknown architecture $arch (want amd64, arm64 or armhf)" >&2; exit 2 ;;
  esac
  cc=gcc
  if [ "$arch" != "$(native_arch)" ]; then
    cc=$triplet-gcc
    command -v "$cc" >/dev/null || { echo "build.sh: $cc not found: run scripts/build-deps.sh (make deps-cross)" >&2; exit 1; }
    [ -f "/usr/lib/$triplet/pkgconfig/alsa.pc" ] || { echo "build.sh: libasound2-dev:$arch not installed: run scripts/build-deps.sh" >&2; exit 1; }
  fi
  mkdir -p "$out"
  local ldflags="-s -w -X loa/agent.Version=$v -X loa/city.Version=$v -X loa/loactl.Version=$v"
  echo "== $arch: loa-agent (cgo, $cc), loa-city, loactl — version $v"
  # pkg-config looks only at the target's libraries, never the host's.
  env CGO_ENABLED=1 GOOS=linux GOARCH=$goarch GOARM=$goarm CC=$cc \
    PKG_CONFIG_LIBDIR="/usr/lib/$triplet/pkgconfig:/usr/share/pkgconfig" \
    go build -trimpath -ldflags "$ldflags" -o "$out/loa-agent" ./cmd/loa-agent
  # Pure Go needs no ARMv7 C library: loa-city and loactl are ARMv6 code,
  # for every Raspberry Pi.
  [ "$arch" != armhf ] || goarm=6
  for c in loa-city loactl; do
    env CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOARM=$goarm \
      go build -trimpath -ldflags "$ldflags" -o "$out/$c" ./cmd/$c
  done
  ls -l "$out"
}

case "${1:-}" in
  version) version; exit ;;
  deb-version) deb_version; exit ;;
  native-arch) native_arch; exit ;;
esac
archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=("$(native_arch)")
for a in "${archs[@]}"; do build_arch "$a"; done
