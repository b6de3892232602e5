# weft's container image: the daemon (`weft launch --foreground`), run next to
# dockerd with host networking, or exported as the rootfs of the managed plugin
# (scripts/plugin). How to run it: README, "Running weft in a container / as a
# managed plugin", or scripts/weft-container.
#
#   docker build -t weft .
#
# Offline build path: when the build context holds an npm cache at .npm-offline/
# (scripts/image context puts one there, filled from package-lock.json on a machine
# that reaches the registry), `npm ci` runs with --offline against it and nothing is
# fetched. Without it, npm uses the registry as usual. Either way node-gyp compiles
# the native modules (better-sqlite3, native/tap, native/aead, node-netlink's helpers) against
# the Node.js headers the base image ships in /usr/local/include/node (npm_config_nodedir:
# node-gyp would download them otherwise), on every core (JOBS=max).

ARG BUILD_IMAGE=node:20-bookworm
ARG RUN_IMAGE=node:20-bookworm-slim

# ---- build: all dependencies, compile, then keep only production ones ----
FROM ${BUILD_IMAGE} AS build
WORKDIR /app
# node:20-bookworm has python3, make and g++ for node-gyp; check rather than fail late
RUN for t in node npm python3 make g++; do command -v "$t" >/dev/null || { echo "build image lacks $t" >&2; exit 1; }; done
COPY package.json package-lock.json ./
COPY native/tap ./native/tap
COPY native/aead ./native/aead
# The optional offline cache. The wildcard matches nothing when .npm-offline is
# absent, and COPY accepts that only beside a source that exists, hence package.json
# (a directory's contents land in the destination: /tmp/npm-offline/_cacache).
COPY package.json .npm-offlin[e] /tmp/npm-offline/
RUN set -eu; \
    if [ -f /usr/local/include/node/node_api.h ]; then export npm_config_nodedir=/usr/local; fi; \
    export JOBS=max; \
    if [ -d /tmp/npm-offline/_cacache ]; then set -- --offline --cache /tmp/npm-offline; echo "npm: offline, from the context's .npm-offline"; fi; \
    npm ci --no-audit --no-fund "$@"
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# then production dependencies only (--ignore-scripts: prune would rebuild native/tap and native/aead,
# already built), without the compilers' leftovers (sources, objects)
RUN set -eu; \
    npm run build; \
    if [ -d /tmp/npm-offline/_cacache ]; then set -- --offline --cache /tmp/npm-offline; fi; \
    npm prune --omit=dev --ignore-scripts --no-audit --no-fund "$@"; \
    cd node_modules/better-sqlite3 && rm -rf deps src build/Release/obj.target build/Release/obj build/Release/.deps \
        build/Release/sqlite3.a build/Release/test_extension.node && cd /app; \
    for a in tap aead; do find native/$a/build -mindepth 1 -maxdepth 2 ! -path native/$a/build/Release ! -name '*.node' -exec rm -rf {} +; done; \
    node -e 'require("better-sqlite3"); require("weft-tap"); require("weft-aead")'

# ---- run: Node.js, dist, production node_modules, bin/weft, iptables ----
FROM ${RUN_IMAGE}
# iptables: weft adds two rules per bridge: FORWARD accept (Docker's FORWARD policy is DROP), raw NOTRACK (src/firewall).
# node:20-bookworm-slim lacks it; the offline stand-in base already has it.
RUN command -v iptables >/dev/null || { apt-get update && apt-get install -y --no-install-recommends iptables && rm -rf /var/lib/apt/lists/*; }
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/native/tap ./native/tap
COPY --from=build /app/native/aead ./native/aead
COPY --from=build /app/dist ./dist
COPY bin/weft ./bin/weft
COPY scripts/image-entrypoint /usr/local/bin/weft-entrypoint
# the image loads every module, native ones included, at build time already
RUN ln -s /app/bin/weft /usr/local/bin/weft && weft version

# Root, deliberately: weft changes the host's network namespace over rtnetlink
# (bridges, veths, VXLAN, FDB and neighbour entries), opens TAP devices with
# TUNSETIFF on /dev/net/tun and runs iptables, all of which need CAP_NET_ADMIN in the
# host's namespace, and it talks to the root-owned Docker socket. A non-root user
# would need those same capabilities (ambient) and the socket's group, i.e. root's
# power under another name, so the image does not pretend otherwise.
USER root
ENTRYPOINT ["/usr/local/bin/weft-entrypoint"]
