#!/bin/bash
# Issue 9's cost of stats, as an isolated A/B: one load per fresh proxy process, the three configs alternated in
# every repetition, the proxy on CPU 0 and wrk plus the HTTP responder (haproxy in mode http) on CPU 1.
#   base  = a `listen rr` to the responder, counters kept (as always), no stats socket or page
#   sock  = base + `stats socket` (the page's latency histograms stay off)
#   stats = sock + a stats page with /metrics (the connect and session histograms are recorded)
# Per run it prints the rate (wrk) and the proxy's CPU time per request or connection (/proc/PID/stat over the
# measured window). Run from the clone, in a network namespace of its own:
#   unshare -n bash -c 'ip link set lo up && bench/stats-cost-ab.sh [REPS] [rr|cps]...'
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-4}
[ $# -gt 0 ] && shift
loads=("$@")
[ ${#loads[@]} -eq 0 ] && loads=(rr cps)
bin/planetary jvm --opts > /dev/null # builds the jars and the class-data archive first, if they are stale
dir=$(mktemp -d /tmp/planetary-stats-ab.XXXXXX)
hp=""
proxy=""
cleanup() {
  [ -n "$proxy" ] && kill "$proxy" 2>/dev/null || true
  [ -n "$hp" ] && kill "$hp" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

cat > "$dir/resp.cfg" <<'EOF'
global
    maxconn 9000
    nbthread 1
defaults
    mode http
    timeout client 5m
    timeout http-request 5m
    timeout http-keep-alive 5m
frontend respond
    bind 127.0.0.1:32201
    http-request return status 200 content-type text/plain string 0123456789abcdef0123456789abcdef
EOF
head='global
    maxconn 9000
    nbthread 1
    hard-stop-after 1s'
rest='
defaults
    mode tcp
    balance leastconn
    timeout connect 5s
    timeout client 5m
    timeout server 5m

listen rr
    bind 127.0.0.1:32101
    server s1 127.0.0.1:32201
'
page='
listen stats
    bind 127.0.0.1:18404
    mode http
    stats enable
    stats uri /
    stats refresh 10s
    http-request use-service prometheus-exporter if { path /metrics }
'
socket="    stats socket $dir/stats.sock mode 600 level admin"
printf '%s\n%s\n' "$head" "$rest" > "$dir/base.cfg"
printf '%s\n%s\n%s\n' "$head" "$socket" "$rest" > "$dir/sock.cfg"
printf '%s\n%s\n%s\n%s\n' "$head" "$socket" "$rest" "$page" > "$dir/stats.cfg"

taskset -c 1 haproxy -f "$dir/resp.cfg" > "$dir/resp.out" 2>&1 &
hp=$!
sleep 1
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
for load in "${loads[@]}"; do
  case "$load" in
    rr) wrkargs=(-t1 -c50) ;;
    cps) wrkargs=(-t1 -c32 -H 'Connection: close') ;;
    *) echo "stats-cost-ab: unknown load $load (rr or cps)" >&2; exit 64 ;;
  esac
  for rep in $(seq 1 "$reps"); do
    for c in base sock stats; do
      taskset -c 0 bin/planetary proxy -f "$dir/$c.cfg" > "$dir/$c.out" 2>&1 &
      proxy=$!
      for _ in $(seq 1 100); do # up to 10 s for the listener
        (exec 3<>/dev/tcp/127.0.0.1/32101) 2>/dev/null && break
        sleep 0.1
      done
      taskset -c 1 wrk "${wrkargs[@]}" -d12s http://127.0.0.1:32101/ > /dev/null # warm-up
      t0=$(cpu_ticks "$proxy")
      taskset -c 1 wrk "${wrkargs[@]}" -d8s http://127.0.0.1:32101/ > "$dir/wrk.txt"
      t1=$(cpu_ticks "$proxy")
      kill "$proxy"
      wait "$proxy" 2>/dev/null || true
      proxy=""
      n=$(awk '/requests in/ {print $1}' "$dir/wrk.txt")
      rate=$(awk '/Requests\/sec/ {print $2}' "$dir/wrk.txt")
      printf '%s %s rep %d: %s/s, proxy CPU %.2f us per %s\n' "$load" "$c" "$rep" "$rate" \
        "$(echo "($t1 - $t0) * 1000000 / $hz / $n" | bc -l)" "$([ "$load" = rr ] && echo request || echo connection)"
    done
  done
done
