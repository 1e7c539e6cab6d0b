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
# SQLite is modernc.org's translation of its C source into Go. Under
# -race it was instrumented like loa's own code, and every pointer
# conversion in it checked (checkptr): that was a quarter of the agent's
# and a fifth of the city's test CPU. It is compiled as cgo would compile C:
# without either. Everything else, loa's code and the driver that calls
# into SQLite, keeps the race detector.
race=(-race '-gcflags=modernc.org/sqlite/lib=-race=false -d=checkptr=0')
# The relay's real-time tests (audio/stream) keep a sound card's pace:
# their puller judges every 100 ms of what the relay plays from ffmpeg
# through Icecast2 or an HLS server. Beside another package on the two
# cores at the same priority, the feed or the puller ran late and the
# relay rightly skipped, stalled or ran dry inside a judged window
# (TestIcecastRelay and TestIcecastAACAndOgg beside e2e and beside city;
# TestHLSStall's refill after a reconnect beside e2e). So they run at the
# normal priority, and beside them, at the lowest (nice 19), the packages
# whose tests keep no real-time pace of their own: the kernel gives those
# only the CPU the relay's processes leave.
#
# The packages that play in real time (the agent daemon's and e2e's
# stations on paced outputs, the sound card and line-in tests) run after,
# at the normal priority: niced beside the relay, an in-process station
# was starved past its 100 ms output buffer and rightly cut the end of a
# program (TestDaemonTakesProgramLoadsWithoutCutting).
#
# -vet=off: go vet ./... above has checked every package and its tests
# with all of vet's analyzers, a superset of the ones go test runs.
realtime='loa/e2e loa/agent loa/audio/soundcard loa/audio/capture'
stream_log=$(mktemp)
# In a process group of its own (setsid), so that a failure below stops
# the test binary and its ffmpeg and Icecast2 too.
setsid go test "${race[@]}" -count=1 -vet=off -timeout 10m ./audio/stream > "$stream_log" 2>&1 &
stream_run=$!
trap 'kill -- -$stream_run 2>/dev/null || true' EXIT # if the run below fails
# Two packages at a time, the city (the longest) first so that the short
# ones fill the other core beside it.
beside=$(go list ./... | grep -Ev "$norace" | grep -Fxv -e loa/city -e loa/audio/stream $(printf -- '-e %s ' $realtime))
nice -n 19 go test "${race[@]}" -count=1 -vet=off -timeout 10m loa/city $beside
stream_rc=0
wait $stream_run || stream_rc=$?
trap - EXIT
cat "$stream_log"
rm -f "$stream_log"
[ "$stream_rc" = 0 ] || exit "$stream_rc"
# Then the real-time packages, e2e (the longest) first.
go test "${race[@]}" -count=1 -vet=off -timeout 15m $realtime
echo "== non-race runs ($(date +%T))"
# The runs below are pure computation or on virtual clocks (nothing in them
# measures the wall clock): the first in the background fills the core the
# others leave idle beside its long jitter simulations.
go test -count=1 -vet=off -timeout 10m $(go list ./... | grep -E "$norace") &
norace_run=$!
trap 'kill $norace_run 2>/dev/null || true' EXIT # if a run below fails
go test "${race[@]}" -count=1 -vet=off -run 'TestBoundedPlaysEverything' ./audio/stream/jitter
# Without the race detector, in one run: the relay's drift runs (virtual
# clock) hold their bound over 240 s of stream (under -race they run 20 s);
# the decoders' accuracy against mpg123 and the ISO compliance streams
# (pure decoding on one goroutine, skipped under -race; docs/testing.md).
go test -count=1 -vet=off -run '^(TestRelayDrift|TestPCMRelayDrift|TestDecodeMatrix|TestCompliance)$' ./audio/stream ./audio
# The MP3 decoder (third_party/go-mp3) is its own module, out of ./...:
# its tests compare its vector assembly with its Go code bit for bit, then
# run with the Go code forced (the purego tag). The arm64 (NEON) code runs
# in scripts/package-ci.sh, in the qemu render compared with amd64's.
(cd third_party/go-mp3 && go vet ./... && go test -count=1 ./... && go test -count=1 -tags purego ./...)
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
