#!/usr/bin/env bash
# Installs what cross builds, packaging and the package tests need on Debian
# 12+ (amd64 host): the arm64 and armhf cross compilers, the targets'
# libasound2-dev (multiarch), qemu-user to run the ARM binaries, dpkg-dev,
# debootstrap (the throwaway root of the install test), systemd (for
# `systemd-analyze verify`; it is not started) and lintian (the packages'
# check). Safe to run again.
set -euo pipefail

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

changed=0
for a in arm64 armhf; do
  if ! dpkg --print-foreign-architectures | grep -qx "$a"; then
    $sudo dpkg --add-architecture "$a"
    changed=1
  fi
done

pkgs=(
  gcc pkg-config libasound2-dev
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross libasound2-dev:arm64
  gcc-arm-linux-gnueabihf libc6-dev-armhf-cross libasound2-dev:armhf
  qemu-user binutils dpkg-dev debootstrap systemd lintian
  sox lame
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ] || [ $changed -eq 1 ]; then
  # A mirror caught mid-sync fails one index (seen: security armhf); the
  # install below says whether what it needs was there.
  $sudo apt-get update -q || echo "build-deps.sh: apt-get update reported errors; trying the install anyway" >&2
fi
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
