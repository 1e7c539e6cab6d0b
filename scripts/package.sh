#!/usr/bin/env bash
# Builds the Debian packages loa-agent, loa-city and loactl with dpkg-deb
# from the binaries scripts/build.sh left in dist/ARCH/ (built first when
# missing), into dist/deb/.
#
#   scripts/package.sh [ARCH...]    ARCH: amd64 arm64 armhf (default: this machine's)
#
# dpkg-deb rather than nfpm: it is already on every Debian machine, and the
# packages are small enough that a control file and four shell scripts per
# package are clearer than a generator's configuration. Each package also
# gets what Debian policy asks of every package (lintian checks it in
# scripts/package-ci.sh): the copyright file, a changelog, a manual page per
# program — written by the program itself from its commands' --help — and
# lintian overrides, each with its reason (packaging/deb/PKG/lintian-overrides).
#
# Environment: VERSION (see build.sh), OUT (dist), DEB_MAINTAINER,
# SOURCE_DATE_EPOCH (file times; default: the last commit's time, so that
# the same commit gives the same packages).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-dist}
maintainer=${DEB_MAINTAINER:-loa developers <loa@example.org>}
debver=$(scripts/build.sh deb-version)
version=$(scripts/build.sh version)
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=("$(scripts/build.sh native-arch)")
mkdir -p "$out/deb"

# libc_depends prints "libc6 (>= X)" for the newest glibc symbol version
# the binary needs.
libc_depends() {
  local v
  v=$(readelf --dyn-syms -W "$1" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
  [ -n "$v" ] || { echo "package.sh: $1 needs no glibc?" >&2; exit 1; }
  echo "libc6 (>= $v)"
}

# manpages writes the three programs' manual pages into $man/, once for
# every architecture (the text does not depend on it): each program prints
# its own (`PROGRAM manpage`), so it runs here, built for this machine.
man=""
manpages() {
  [ -z "$man" ] || return 0
  man=$(mktemp -d)
  local native p exe
  native=$(scripts/build.sh native-arch)
  for p in loa-agent loa-city loactl; do
    exe="$out/$native/$p"
    if [ ! -x "$exe" ]; then
      exe="$man/$p.bin"
      env CGO_ENABLED=$([ "$p" = loa-agent ] && echo 1 || echo 0) go build -trimpath \
        -ldflags "-X loa/agent.Version=$version -X loa/city.Version=$version -X loa/loactl.Version=$version" -o "$exe" "./cmd/$p"
    fi
    "$exe" manpage | gzip -9n > "$man/$p.1.gz"
  done
}

# changelog writes a package's changelog: native packages (the version has
# no Debian revision) keep it as changelog.gz.
changelog() {
  local pkg=$1 dest=$2
  {
    echo "$pkg ($debver) unstable; urgency=medium"
    echo
    echo "  * Built from loa $version (git commit $commit)."
    echo "    The changes are in the project's history: git log $commit."
    echo
    echo " -- $maintainer  $(date -u -R -d "@$SOURCE_DATE_EPOCH")"
  } | gzip -9n > "$dest"
}

# stage PKG ARCH: makes an empty package tree with its maintainer scripts,
# and the files of /usr/share/doc/PKG every package has.
stage() {
  local pkg=$1 root=$2
  rm -rf "$root"
  install -d -m 0755 "$root/DEBIAN"
  for s in preinst postinst prerm postrm; do
    if [ -f "packaging/deb/$pkg/$s" ]; then install -m 0755 "packaging/deb/$pkg/$s" "$root/DEBIAN/$s"; fi
  done
  if [ -f "packaging/deb/$pkg/conffiles" ]; then install -m 0644 "packaging/deb/$pkg/conffiles" "$root/DEBIAN/conffiles"; fi
  install -D -m 0644 packaging/deb/copyright "$root/usr/share/doc/$pkg/copyright"
  changelog "$pkg" "$root/usr/share/doc/$pkg/changelog.gz"
  chmod 0644 "$root/usr/share/doc/$pkg/changelog.gz"
  manpages
  install -D -m 0644 "$man/$pkg.1.gz" "$root/usr/share/man/man1/$pkg.1.gz"
  if [ -f "packaging/deb/$pkg/lintian-overrides" ]; then
    install -D -m 0644 "packaging/deb/$pkg/lintian-overrides" "$root/usr/share/lintian/overrides/$pkg"
  fi
}

# finish PKG ARCH ROOT LIBC: writes the control file and builds the .deb.
finish() {
  local pkg=$1 arch=$2 root=$3 libc=${4:-} size deb
  # Every file and folder the same way, whatever the umask of the build.
  find "$root" -path "$root/DEBIAN" -prune -o -type d -exec chmod 0755 {} +
  size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
  sed -e "s|@VERSION@|$debver|; s|@ARCH@|$arch|; s|@MAINTAINER@|$maintainer|; s|@SIZE@|$size|; s|@LIBC@|$libc|" \
    "packaging/deb/$pkg/control" > "$root/DEBIAN/control"
  chmod 0644 "$root/DEBIAN/control"
  # md5sums: what `dpkg --verify` and debsums check the installed files
  # against (an SD card that corrupts files).
  (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
  chmod 0644 "$root/DEBIAN/md5sums"
  find "$root" -newermt "@$SOURCE_DATE_EPOCH" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  deb="$out/deb/${pkg}_${debver}_${arch}.deb"
  dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
  echo "$deb $(stat -c %s "$deb") bytes"
}

for arch in "${archs[@]}"; do
  bin="$out/$arch"
  if [ ! -x "$bin/loa-agent" ] || [ ! -x "$bin/loa-city" ] || [ ! -x "$bin/loactl" ]; then
    scripts/build.sh "$arch"
  fi
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT

  r="$tmp/loa-agent"
  stage loa-agent "$r"
  install -D -m 0755 "$bin/loa-agent" "$r/usr/bin/loa-agent"
  install -D -m 0644 systemd/loa-agent.service "$r/usr/lib/systemd/system/loa-agent.service"
  install -D -m 0640 systemd/loa-agent.conf "$r/etc/loa/agent.conf"
  install -D -m 0644 docs/install.md "$r/usr/share/doc/loa-agent/install.md"
  install -D -m 0644 docs/hardware.md "$r/usr/share/doc/loa-agent/hardware.md"
  finish loa-agent "$arch" "$r" "$(libc_depends "$bin/loa-agent")"

  r="$tmp/loa-city"
  stage loa-city "$r"
  install -D -m 0755 "$bin/loa-city" "$r/usr/bin/loa-city"
  install -D -m 0644 systemd/loa-city.service "$r/usr/lib/systemd/system/loa-city.service"
  install -D -m 0640 systemd/loa-city.conf "$r/etc/loa/city.conf"
  install -D -m 0644 docs/install.md "$r/usr/share/doc/loa-city/install.md"
  install -D -m 0644 docs/api.md "$r/usr/share/doc/loa-city/api.md"
  finish loa-city "$arch" "$r"

  r="$tmp/loactl"
  stage loactl "$r"
  install -D -m 0755 "$bin/loactl" "$r/usr/bin/loactl"
  finish loactl "$arch" "$r"

  rm -rf "$tmp"
  trap - EXIT
done
[ -z "$man" ] || rm -rf "$man"
