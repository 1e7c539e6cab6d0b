#!/usr/bin/env bash
# The loa demo: a city station and a ward station on this machine.
#
#   1. installs what loa needs (Debian packages, Go modules) and builds it;
#   2. starts a city (loa-city) with a ward "demo" and an operator;
#   3. generates a station chime, a Vietnamese bulletin (espeak-ng) and a
#      music bed, uploads them to the city (loactl) and loads a program for
#      the next minute;
#   4. runs the ward agent, which syncs the program from the city and plays
#      it to the sound card — or to loa-demo.wav when there is none.
#
# Everything lives in .demo/ and is started afresh each time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
export PATH="$PATH:/usr/local/go/bin"

echo "== build"
mkdir -p bin
go build -o bin/ ./cmd/loa-agent ./cmd/loa-city ./cmd/loactl

D="$PWD/.demo"
rm -rf "$D"
mkdir -p "$D"
CITY_ADDR=127.0.0.1:8780
AGENT_ADDR=127.0.0.1:8790

echo "== city"
cat > "$D/city.yaml" <<CONF
data: $D/city
listen: $CITY_ADDR
nats:
  listen: 127.0.0.1:4222
CONF
KEY=$(bin/loa-city key --config "$D/city.yaml" 2>/dev/null | awk '/public key/ {print $3}')
WARD=$(bin/loa-city ward add demo --group quan-1 --json --config "$D/city.yaml" 2>/dev/null)
WARD_TOKEN=$(jq -r .token <<<"$WARD")
WARD_NATS_KEY=$(jq -r .nats_key <<<"$WARD")
ADMIN_TOKEN=$(bin/loa-city user add bien-tap --role admin --config "$D/city.yaml" 2>/dev/null | tail -n 1)
bin/loa-city run --config "$D/city.yaml" > "$D/city.log" 2>&1 &
CITY_PID=$!
trap 'kill $CITY_PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fs "http://$CITY_ADDR/healthz" >/dev/null 2>&1 && break; sleep 0.2; done

echo "== media and program"
export LOA_CITY="http://$CITY_ADDR" LOA_TOKEN="$ADMIN_TOKEN"
bin/loa-agent demo --make-media "$D/media"
bin/loactl media upload "$D/media/nhac-hieu.wav" "$D/media/ban-tin.wav" "$D/media/nhac-nen.wav"
START=$(TZ=Asia/Ho_Chi_Minh date -d "@$(( ( $(date +%s) + 20 ) / 60 * 60 + 60 ))" '+%Y-%m-%d %H:%M')
cat > "$D/ban-tin-demo.yaml" <<PROG
timezone: Asia/Ho_Chi_Minh
programs:
  - id: ban-tin-demo
    title: Bản tin thử nghiệm (demo)
    date: ${START% *}
    at: "${START#* }"
    chime: nhac-hieu.wav
    items: [ban-tin.wav, nhac-nen.wav]
PROG
bin/loactl program load "$D/ban-tin-demo.yaml" --all
echo "   the program starts at ${START#* } (Asia/Ho_Chi_Minh)"

echo "== ward station"
cat > "$D/agent.conf" <<CONF
ward: demo
data: $D/agent
clock: trust
http:
  listen: $AGENT_ADDR
city:
  url: http://$CITY_ADDR
  token: $WARD_TOKEN
  public_key: $KEY
  poll: 5s
  nats: nats://127.0.0.1:4222
  nats_key: $WARD_NATS_KEY
CONF
bin/loa-agent demo --config "$D/agent.conf" --wait ban-tin-demo --out loa-demo.wav
