# loa: builds, cross builds, Debian packages and tests.
#
#   make                 loa-agent, loa-city and loactl for this machine, in dist/ARCH/
#   make cross           the same for amd64, arm64 and armhf (needs `make deps-cross`)
#   make deb             .deb packages for the three architectures, in dist/deb/
#   make deps-cross      install the cross compilers, qemu-user, debootstrap (Debian, root/sudo)
#   make test            the test suite (scripts/test.sh)
#   make test-package    cross builds, packages and the package tests (scripts/package-ci.sh, root)
#   make version         the version stamped into the binaries
#
# Variables: VERSION (default: git describe --tags --always --dirty), OUT (dist).

ARCHS := amd64 arm64 armhf
OUT ?= dist
export OUT
ifdef VERSION
export VERSION
endif

.PHONY: all build cross $(ARCHS) deb deb-native deps-cross test test-package version clean

all: build

build:
	scripts/build.sh

cross: $(ARCHS)

$(ARCHS):
	scripts/build.sh $@

deb: cross
	scripts/package.sh $(ARCHS)

deb-native: build
	scripts/package.sh

deps-cross:
	scripts/build-deps.sh

test:
	scripts/test.sh

test-package:
	scripts/package-ci.sh

version:
	@scripts/build.sh version

clean:
	rm -rf $(OUT)/amd64 $(OUT)/arm64 $(OUT)/armhf $(OUT)/deb $(OUT)/package-tests.log
