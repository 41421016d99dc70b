# modelchain: operator, webhook and CLI in one image on Node 24.
# Build: make image (docker build -t modelchain:dev .)

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Scripts are skipped: the pinned `node` dev dependency is for machines whose Node is older;
# this image already runs Node 24.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY scripts/build.ts ./scripts/
COPY src ./src
# The bin entries bundled with esbuild, one chunk per command (see scripts/build.ts); the
# type check runs in make test.
RUN node scripts/build.ts

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

FROM node:24-bookworm-slim
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY crds ./crds
# `modelchain demo` applies the samples to its in-memory cluster.
COPY samples ./samples
RUN printf '#!/bin/sh\nexec node /app/dist/cli/bin.js "$@"\n' > /usr/local/bin/modelchain && chmod 0755 /usr/local/bin/modelchain
ENV NODE_ENV=production
# Non-root; writes go only to the ledger volume and an emptyDir at /tmp, so the root
# filesystem can be read-only.
USER 65532:65532
ENTRYPOINT ["node", "/app/dist/cli/bin.js"]
CMD ["--help"]
