#!/usr/bin/env bash
# Where a new connection's CPU goes, for one proxy (issue 15 §3): runs the harness's new-connections load (wrk,
# Connection: close) through nbthread 1 for 30 s and, during it, takes in turn
#   1. user and system CPU per connection of the proxy process (/proc/PID/stat, 8 s),
#   2. system calls per connection of its event loop (strace -c, 6 s; per connection = calls / accept4 calls),
#   3. a CPU profile of the event loop (perf record -g, 8 s; Java frames named through jcmd Compiler.perfmap).
# Usage (as root, from the clone, in a network namespace of its own as the harness is run):
#   unshare -n bash -c 'ip link set lo up; bench/profile-cps.sh planetary /tmp/prof'
#   unshare -n bash -c 'ip link set lo up; bench/profile-cps.sh haproxy /tmp/prof-h'
# Output in DIR: cpu.txt, strace.txt, perf.data (+ perf-by-syscall.txt, perf-by-dso.txt), bench.md, bench.log.
# Needs strace and perf (linux-perf); everything it starts is the harness's and ends with it.
set -euo pipefail
target=${1:?usage: profile-cps.sh planetary|haproxy OUTDIR}
out=${2:?usage: profile-cps.sh planetary|haproxy OUTDIR}
case $target in planetary|haproxy) ;; *) echo "target: planetary or haproxy" >&2; exit 2 ;; esac
for tool in strace perf; do
    command -v $tool >/dev/null || { echo "profile-cps.sh needs $tool" >&2; exit 2; }
done
mkdir -p "$out"
cd "$(dirname "$0")/.."

bin/planetary bench --only traffic --loads cps --targets "$target" --nbthread 1 --reps 1 --proxy-warmup 5 \
    --warmup 5 --time 30 --out "$out/bench.md" > "$out/bench.log" 2>&1 &
bench=$!
trap 'kill $bench 2>/dev/null || true' EXIT

# the measured run is the only wrk with -d 30s; the proxy is the harness's child on this target's config
wrk=""
for _ in $(seq 1 900); do
    wrk=$(pgrep -f '^/usr/bin/wrk .*-d 30s.*Connection: close' | head -1 || true)
    [ -n "$wrk" ] && break
    kill -0 $bench 2>/dev/null || { echo "the harness ended early: see $out/bench.log" >&2; exit 1; }
    sleep 0.2
done
[ -n "$wrk" ] || { echo "the measured load did not start" >&2; exit 1; }
if [ "$target" = haproxy ]; then
    pid=$(pgrep -f '^/usr/sbin/haproxy -db -f .*traffic' | head -1 || true)
    loop=$pid
else
    pid=$(pgrep -f 'java .*-jar .*planetary-proxy.jar' | head -1 || true)
    loop=$(for t in /proc/$pid/task/*; do grep -q '^planetary-io' "$t/comm" && basename "$t"; done | head -1 || true)
fi
[ -n "$pid" ] && [ -n "$loop" ] || { echo "the proxy or its event loop was not found" >&2; exit 1; }
sleep 2

read -r -a a < /proc/$pid/stat; u0=${a[13]}; s0=${a[14]}
sleep 8
read -r -a a < /proc/$pid/stat; u1=${a[13]}; s1=${a[14]}
hz=$(getconf CLK_TCK)
echo "process $pid over 8 s: user $(( (u1 - u0) * 1000 / hz )) ms, system $(( (s1 - s0) * 1000 / hz )) ms" \
    "(per connection: divide by the rate in bench.md)" > "$out/cpu.txt"

timeout -s INT 6 strace -c -p "$loop" -o "$out/strace.txt" 2>/dev/null || true
awk '$NF=="accept4"{a=$4} $NF=="total"{t=$4} END{if (a>0) printf "system calls per connection: %.1f\n", t/a}' \
    "$out/strace.txt" >> "$out/strace.txt"

perf record -q -F 4999 -g -t "$loop" -o "$out/perf.data" -- sleep 8 2>/dev/null || true
if [ "$target" = planetary ]; then
    jcmd "$pid" Compiler.perfmap > /dev/null || true # /tmp/perf-PID.map: perf report names the JIT's frames with it
fi
wait $bench || true
trap - EXIT
perf report -i "$out/perf.data" --no-children --sort dso -g none 2>/dev/null | grep '%' > "$out/perf-by-dso.txt" || true
perf report -i "$out/perf.data" --children --sort sym -g none 2>/dev/null | grep '%' | head -80 \
    > "$out/perf-by-syscall.txt" || true
[ -f "/tmp/perf-$pid.map" ] && mv "/tmp/perf-$pid.map" "$out/"
col=$([ "$target" = haproxy ] && echo 6 || echo 7) # | figure | unit | threads | direct | haproxy | planetary |
rate=$(grep '^| new connections |' "$out/bench.md" | head -1 | awk -F'|' -v c=$col '{gsub(/[ ,]/, "", $c); print $c}')
echo "rate: $rate conn/s (the whole measured run)"
awk -v r="$rate" '{u=$7; s=$10; if (r > 0) printf "per connection: user %.1f us, system %.1f us\n", u*1000/8/r, s*1000/8/r}' \
    "$out/cpu.txt" | tee -a "$out/cpu.txt"
tail -1 "$out/strace.txt"; head -8 "$out/perf-by-dso.txt"
