#!/usr/bin/env bash
# weft's move demo on the Vagrant VMs (what scripts/lab.d/demo does in lab
# hosts): a database-like service on h3, a web container on h1 that uses it, a
# client on h3 that uses the web container. The web container moves to h2
# keeping its address; the client keeps reaching it, the db keeps seeing the
# same client address, and h3 says how long it heard nothing from it.
#
# Run from vagrant/ after `vagrant up` (weft already runs on each VM, from
# weft.service). Leaves the VMs as it found them.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

WEB_IP=${WEB_IP:-10.32.200.10}
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# one ssh configuration from vagrant, one multiplexed connection per VM:
# each command then costs milliseconds instead of a `vagrant ssh` start
tmp=$(mktemp -d)
cleanup_ssh() {
  for h in h1 h2 h3; do ssh -F "$tmp/ssh_config" -O exit "$h" >/dev/null 2>&1 || true; done
  rm -rf "$tmp"
}
vagrant ssh-config h1 h2 h3 > "$tmp/ssh_config" 2>/dev/null || {
  echo "demo: the VMs are not up; run 'vagrant up' in $(pwd) first" >&2
  vagrant status >&2 || true
  rm -rf "$tmp"; exit 1
}
ssh_opts=(-F "$tmp/ssh_config" -o LogLevel=ERROR -o ControlMaster=auto -o "ControlPath=$tmp/%h.sock" -o ControlPersist=120)
# on HOST CMD ARGS...: runs CMD as root on HOST, each argument quoted as given
on() { local h=$1; shift; ssh "${ssh_opts[@]}" "$h" "sudo $(printf '%q ' "$@")"; }
d() { local h=$1; shift; on "$h" docker "$@"; }
weft() { local h=$1; shift; on "$h" weft "$@"; }

cleanup() {
  step "clean up"
  for h in h1 h2 h3; do d "$h" rm -f db web client pinger >/dev/null 2>&1 || true; done
  cleanup_ssh
}
trap cleanup EXIT

step "weft on h1, h2, h3 (weft.service; h2 and h3 named h1)"
for h in h1 h2 h3; do
  on "$h" systemctl is-active --quiet weft || { echo "demo: weft.service is not active on $h (vagrant ssh $h -c 'journalctl -u weft')" >&2; exit 1; }
  d "$h" rm -f db web client pinger >/dev/null 2>&1 || true
done
printf 'waiting for the fast path between all hosts '
for _ in $(seq 100); do
  n=0
  for h in h1 h2 h3; do n=$((n + $(weft "$h" status --json | grep -c '"mode": "fastdp"' || true))); done
  [ "$n" = 6 ] && break
  printf .; sleep 0.3
done
echo
weft h1 status | sed -n '/^peers:/,/^networks:/p' | sed '$d'

step "the database-like service on h3 (logs every client address)"
d h3 run -d --name db --net weft lab/busybox sh -c \
  'mkdir -p /www && echo "42 rows" > /www/index.html && exec httpd -f -v -p 80 -h /www' >/dev/null
DB_IP=$(d h3 inspect -f '{{.NetworkSettings.Networks.weft.IPAddress}}' db)
echo "db on h3 at $DB_IP"

# the web app: a CGI page that asks the db and says which host served it
WEB_CMD='mkdir -p /www/cgi-bin && printf "#!/bin/sh\necho Content-Type: text/plain\necho\necho \"web on %s, db says: \$(wget -qO- http://%s/)\"\n" "$NODE" "$DB" >/www/cgi-bin/app && chmod +x /www/cgi-bin/app && exec httpd -f -p 80 -h /www'
web_args() { echo --name web --net weft --ip "$WEB_IP" -e NODE="$1" -e DB="$DB_IP" lab/busybox; }

step "the web container on h1 at $WEB_IP, using the db on h3"
# shellcheck disable=SC2046  # web_args is words without spaces
d h1 run -d $(web_args h1) sh -c "$WEB_CMD" >/dev/null
printf 'h3 → http://%s/cgi-bin/app : ' "$WEB_IP"
for _ in $(seq 50); do d h3 run --rm --net weft lab/busybox wget -qO- "http://$WEB_IP/cgi-bin/app" 2>/dev/null && break; sleep 0.2; done

step "a client on h3 asks the web container every 200 ms"
d h3 run -d --name client --net weft lab/busybox sh -c \
  "while :; do read -r up rest </proc/uptime; echo \"\$up \$(timeout 1 wget -qO- http://$WEB_IP/cgi-bin/app 2>/dev/null || echo no answer)\"; sleep 0.2; done" >/dev/null
# and a pinger on h3, every 20 ms, each reply stamped with h3's uptime: the
# VMs' clocks differ, so the move is timed on h3's clock alone
d h3 run -d --name pinger --net weft lab/busybox sh -c \
  "ping -i 0.02 $WEB_IP | while read -r l; do read -r up rest </proc/uptime; echo \"\$up \$l\"; done" >/dev/null
sleep 1.5
d h3 logs --tail 3 client

step "move: web leaves h1 and starts on h2 with the same --ip $WEB_IP"
uptime_ms() { on h3 cat /proc/uptime | awk '{ printf "%d\n", $1 * 1000 }'; }
t0=$(uptime_ms)
d h1 rm -f web >/dev/null
# shellcheck disable=SC2046
d h2 run -d $(web_args h2) sh -c "$WEB_CMD" >/dev/null
t1=$(uptime_ms)
echo "web removed on h1 and started on h2"
gap=""
for _ in $(seq 100); do
  # the longest silence between two replies h3 saw from a second before the
  # move up to its first reply after `docker run` on h2 returned
  gap=$(d h3 logs pinger 2>/dev/null | awk -v t0="$t0" -v t1="$t1" '
    /bytes from/ { ms = $1 * 1000; if (ms < t0 - 1000) next
                   if (last != "" && ms - last > max) max = ms - last
                   last = ms; if (ms > t1) { printf "%d\n", max; exit } }')
  [ -n "$gap" ] && break
  sleep 0.2
done
[ -n "$gap" ] || echo "demo: h3 got no reply from $WEB_IP within 20 s of the start on h2" >&2
sleep 1.5

step "the client on h3 kept asking (uptime, answer)"
d h3 logs --tail 12 client

step "the db on h3 saw the web container at the same address before and after the move"
# httpd -v logs "[::ffff:ADDRESS]:PORT: response:200" per request
d h3 logs db 2>&1 | sed -n 's/^\[::ffff:\([0-9.]*\)\]:[0-9]*: response:.*/\1/p' | uniq -c | awk '{ print "  " $1 " requests from " $2 }'

step "weft status on h3"
weft h3 status | sed -n '/^  data plane/p; /^peers:/,/^networks:/p' | sed '$d'

echo
echo "demo: the web container moved from h1 to h2 keeping $WEB_IP; h3 heard nothing from it for ${gap:-?} ms" \
  "(its last reply from h1 to its first from h2: removing it on h1, one ssh command and docker run on h2)"
