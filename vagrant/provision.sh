#!/usr/bin/env bash
# Provisions one VM of weft's Vagrant lab (run as root by `vagrant up` /
# `vagrant provision`; see vagrant/Vagrantfile). Idempotent: a second run
# rebuilds weft from /opt/weft and restarts it, keeping its state.
#
# env (from the Vagrantfile):
#   WEFT_NAME      this VM's name (h1, h2, h3)
#   WEFT_ADDR      its private-network address, the one peers reach it at
#   WEFT_PEERS     peers to name at launch (blank on h1, which starts the cluster)
#   WEFT_PASSWORD  mesh password (blank: none)
set -euo pipefail
: "${WEFT_NAME:?}" "${WEFT_ADDR:?}"
WEFT_PEERS=${WEFT_PEERS:-}
WEFT_PASSWORD=${WEFT_PASSWORD:-}
SRC=/opt/weft
NODE_MAJOR=20
NODE_MIN=20.19.0   # package.json "engines"
export DEBIAN_FRONTEND=noninteractive

say() { echo "weft-provision($WEFT_NAME): $*"; }

# --- Debian packages: Docker 20.10 (docker.io; apparmor, a recommended package,
# because Debian's kernel has AppArmor on and dockerd then needs apparmor_parser),
# what weft calls and the lab image needs, build tools for the native modules
# (better-sqlite3, native/tap, native/aead)
say "Debian packages"
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends \
  ca-certificates curl gnupg \
  docker.io apparmor iptables iproute2 busybox-static \
  build-essential python3 >/dev/null

# --- Node.js 20 from NodeSource: Debian 12 has Node.js 18, weft needs >= 20.19
# (NodeSource's node_20.x always carries the newest 20.x)
node_ok() { command -v node >/dev/null && [ "$(printf '%s\n%s\n' "$NODE_MIN" "$(node -p process.versions.node)" | sort -V | head -1)" = "$NODE_MIN" ]; }
if ! node_ok; then
  say "Node.js $NODE_MAJOR from NodeSource"
  install -d -m 0755 /etc/apt/keyrings
  curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key | gpg --dearmor --yes -o /etc/apt/keyrings/nodesource.gpg
  echo "deb [signed-by=/etc/apt/keyrings/nodesource.gpg] https://deb.nodesource.com/node_$NODE_MAJOR.x nodistro main" > /etc/apt/sources.list.d/nodesource.list
  apt-get update -q >/dev/null
  apt-get install -y -q nodejs >/dev/null
  node_ok || { echo "weft-provision: Node.js $(node -v) is older than $NODE_MIN" >&2; exit 1; }
fi
say "node $(node -v), npm $(npm -v), $(docker --version)"

systemctl enable --now docker >/dev/null
# `vagrant ssh hN -c 'docker …'` without sudo
usermod -aG docker vagrant 2>/dev/null || true

# --- weft from the synced checkout: its own node_modules and dist/ (the rsync
# leaves the host's out). Not scripts/setup: that also installs what the test
# suite and the packaging checks need (vagrant, docker-compose, debootstrap, …).
cd "$SRC"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
say "npm run build"
npm run --silent build

# --- lab/busybox: the image the move demo and examples/compose use, made from
# Debian's static busybox like scripts/lab makes it (no registry needed)
if ! docker image inspect lab/busybox >/dev/null 2>&1; then
  say "image lab/busybox"
  r=$(mktemp -d)
  mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,www,proc,sys,dev}
  chmod 1777 "$r/tmp"
  cp /bin/busybox "$r/bin/busybox"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$r/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$r/etc/passwd"
  echo 'root:x:0:' > "$r/etc/group"
  tar -C "$r" -c . | docker import - lab/busybox >/dev/null
  rm -rf "$r"
fi

# --- the systemd unit and its settings
say "systemd unit weft.service (peers: ${WEFT_PEERS:-none, this host starts the cluster})"
install -m 0644 "$SRC/scripts/weft.service" /etc/systemd/system/weft.service
umask 077   # the file holds the password
cat > /etc/default/weft <<EOF
# written by vagrant/provision.sh; read by weft.service
WEFT_PEERS="$WEFT_PEERS"
WEFT_PASSWORD="$WEFT_PASSWORD"
# the VMs' first interface is the provider's NAT (the same address on every VM):
# peers must reach this one at its private-network address
WEFT_OPTS="--advertise $WEFT_ADDR"
EOF
umask 022
ln -sf "$SRC/bin/weft" /usr/local/bin/weft
systemctl daemon-reload
systemctl enable weft >/dev/null 2>&1
# restart: a new build or new settings take effect; devices are kept (ExecStop is `weft stop --keep`)
systemctl restart weft

# up when the plugin socket answers; h2 and h3 also need h1's ring before they
# hand out addresses, which `weft status` shows
for _ in $(seq 60); do
  [ -S /run/docker/plugins/weft.sock ] && weft status >/dev/null 2>&1 && break
  sleep 1
done
weft status >/dev/null 2>&1 || { journalctl -u weft --no-pager -n 30 >&2; echo "weft-provision: weft did not start" >&2; exit 1; }
say "weft runs: $(weft version); peers: $(weft status --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);console.log((j.mesh?.peers??[]).map(p=>`${p.nickname} ${p.state}`).join(", ")||"none yet")})')"
