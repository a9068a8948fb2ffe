# syntax=docker/dockerfile:1
# Porthole: broker, proxy and web client in one image.
#   docker build -t porthole .
#   docker run -p 8443:8443 -v porthole-data:/var/lib/porthole \
#     -e PORTHOLE_LIBVIRT=qemu+ssh://kvm-1/system porthole

# Build: native addons (@unraid/libvirt, argon2, bufferutil) need libvirt headers and a compiler.
FROM node:24-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvirt-dev python3 g++ make pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY . .
RUN npm rebuild && npm run build && npm prune --omit=dev

# Run: the libvirt client library and ssh (for qemu+ssh:// hypervisors), no compiler, not root.
FROM node:24-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvirt0 openssh-client ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
RUN mkdir -p /var/lib/porthole /app/certs/local && chown -R node:node /var/lib/porthole /app/certs/local
USER node
ENV NODE_ENV=production \
    PORTHOLE_DATA=/var/lib/porthole \
    PORTHOLE_LISTEN=0.0.0.0:8443
VOLUME ["/var/lib/porthole"]
EXPOSE 8443
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "require('https').get({host:'127.0.0.1',port:8443,path:'/healthz',rejectUnauthorized:false},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]
CMD ["node", "bin/porthole.js", "serve"]
