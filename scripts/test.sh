#!/usr/bin/env bash
# The whole test suite: installs what it needs, then checks formatting, vet and every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
export PATH="$PATH:/usr/local/go/bin"

echo "== gofmt ($(date +%T))"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change:"; echo "$unformatted"; exit 1; fi

echo "== go mod tidy ($(date +%T))"
# go.mod lists what the code imports, the direct dependencies apart.
go mod tidy -diff || { echo "go.mod or go.sum is not tidy: run go mod tidy"; exit 1; }

echo "== go vet ($(date +%T))"
go vet ./...

echo "== go test ($(date +%T))"
# Pure computation runs without the race detector, which makes it 10-20x
# slower and can find nothing where there are no goroutines: loudness, the
# DSP, and the jitter buffer's servo simulations (which then run their full
# 30 simulated minutes instead of 5). The buffer's own two-goroutine test,
# and every package that uses the buffer, run under the race detector.
norace='/audio/loudness$|/audio/dsp$|/audio/stream/jitter$'
# go test starts the packages in the order given, -p (one per core) at a
# time: the long ones first, so that the short ones fill the other core
# beside them (in `go list` order e2e, the longest, started after the
# packages before it and ran alone for minutes at the end). The relay's
# real-time tone tests (audio/stream) go first and e2e (four tests at
# once, Chromium among them) only after them: side by side, the load made
# the tests' card-paced puller late and the relay's buffer skip inside a
# judged window.
# -vet=off: go vet ./... above has checked every package and its tests
# with all of vet's analyzers, a superset of the ones go test runs.
long='loa/audio/stream loa/city loa/agent loa/e2e'
rest=$(go list ./... | grep -Ev "$norace" | grep -Fxv -e ${long// / -e })
go test -race -count=1 -vet=off -timeout 15m $long $rest
echo "== non-race runs ($(date +%T))"
# The runs below are pure computation or on virtual clocks (nothing in them
# measures the wall clock): the first in the background fills the core the
# others leave idle beside its long jitter simulations.
go test -count=1 -vet=off -timeout 10m $(go list ./... | grep -E "$norace") &
norace_run=$!
trap 'kill $norace_run 2>/dev/null || true' EXIT # if a run below fails
go test -race -count=1 -vet=off -run 'TestBoundedPlaysEverything' ./audio/stream/jitter
# Without the race detector, in one run: the relay's drift runs (virtual
# clock) hold their bound over 240 s of stream (under -race they run 20 s);
# the decoders' accuracy against mpg123 and the ISO compliance streams
# (pure decoding on one goroutine, skipped under -race; docs/testing.md).
go test -count=1 -vet=off -run '^(TestRelayDrift|TestPCMRelayDrift|TestDecodeMatrix|TestCompliance)$' ./audio/stream ./audio
wait $norace_run
trap - EXIT

# The parsers of outside input, fuzzed briefly: every run explores a little
# further from the seed corpus; a crash fails the suite and leaves the input
# under testdata/fuzz for a regression test.
echo "== fuzz (brief) ($(date +%T))"
fuzz() { go test -vet=off -run '^$' -fuzz "^$2\$" -fuzztime "${FUZZTIME:-5s}" "$1"; }
fuzz ./schedule FuzzParse
fuzz ./audio FuzzProbe
fuzz ./audio FuzzDecode
fuzz ./manifest FuzzDecode
fuzz ./manifest FuzzOpen
fuzz ./vitext FuzzNormalize
echo "== done ($(date +%T))"
