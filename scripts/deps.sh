#!/usr/bin/env bash
# Installs what loa needs to build, run its demo and run its tests on Debian 12+.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(
  gcc pkg-config libasound2-dev        # oto → ALSA (cgo)
  ffmpeg sox lame mpg123 espeak-ng     # media tools: transcoding, fixtures, reference decoder, speech
  alsa-utils libasound2-plugins pulseaudio pulseaudio-utils  # test audio devices (design.md §7); arecord for line-in
  icecast2                             # live streams (relays, live announcements) in tests
  sqlite3 ca-certificates curl jq
  chromium prometheus                  # status page test (headless), promtool for the alert rules
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"
command -v go >/dev/null || { echo "Go 1.26 or newer is needed: https://go.dev/dl/" >&2; exit 1; }
go mod download
