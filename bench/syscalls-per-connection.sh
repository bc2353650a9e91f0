#!/usr/bin/env bash
# System calls per proxied connection, per system call name (issue 15): strace -f -c on the proxy process while
# N connections (connect, 32 bytes echoed, the client closes first) go through it, after WARM unrecorded ones.
# Both proxies get the same haproxy-syntax config (mode tcp, nbthread 1, one echo server) on loopback.
#
#   unshare -n bench/syscalls-per-connection.sh planetary|haproxy [N] [WARM]
#
# Run it in its own network namespace (as above: it uses ports 8000 and 9000 of 127.0.0.1). For the proxy on
# JDK 25: PLANETARY_JDK=25. Needs strace, python3 (the echo server and the client) and, for haproxy, haproxy.
set -euo pipefail
target=${1:?planetary or haproxy}; n=${2:-1000}; warm=${3:-3000}
root="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ip link set lo up 2>/dev/null || true
dir=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
cat >"$dir/proxy.cfg" <<'CFG'
global
    maxconn 2000
    nbthread 1
defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
listen sc
    bind 127.0.0.1:8000
    balance leastconn
    server echo 127.0.0.1:9000
CFG
cat >"$dir/echo.py" <<'PY'
import socketserver
class H(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            d = self.request.recv(65536)
            if not d:
                break
            self.request.sendall(d)
class S(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 1024
S(("127.0.0.1", 9000), H).serve_forever()
PY
cat >"$dir/client.py" <<'PY'
import socket, sys
for i in range(int(sys.argv[1])):
    s = socket.create_connection(("127.0.0.1", 8000))
    s.sendall(b"x" * 32)
    got = b""
    while len(got) < 32:
        d = s.recv(64)
        if not d:
            raise SystemExit("the proxy closed connection %d early" % i)
        got += d
    s.close()
PY
python3 "$dir/echo.py" & pids+=($!)
if [ "$target" = haproxy ]; then
  haproxy -db -f "$dir/proxy.cfg" >"$dir/proxy.log" 2>&1 & proxy=$!
else
  java=$("$root/bin/planetary" jvm --java); opts=$("$root/bin/planetary" jvm --opts)
  # shellcheck disable=SC2086
  _JAVA_SR_SIGNUM=39 "$java" $opts -jar "$root/proxy/target/planetary-proxy.jar" -f "$dir/proxy.cfg" \
    >"$dir/proxy.log" 2>&1 & proxy=$!
fi
pids+=("$proxy")
for _ in $(seq 150); do
  python3 -c 'import socket; socket.create_connection(("127.0.0.1", 8000)).close()' 2>/dev/null && break
  sleep 0.2
done
python3 "$dir/client.py" "$warm"
strace -f -c -U name,calls,errors -o "$dir/counts.txt" -p "$proxy" 2>/dev/null & tracer=$!
sleep 1
python3 "$dir/client.py" "$n"
sleep 0.5
kill -INT "$tracer"; wait "$tracer" || true
echo "$target: system calls per connection over $n connections (strace -f -c on pid $proxy)"
awk -v n="$n" 'NR > 2 && $1 !~ /^-/ && $2 ~ /^[0-9]+$/ { printf "  %-18s %8.2f\n", $1, $2 / n }' "$dir/counts.txt"
