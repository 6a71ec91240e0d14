# syntax=docker/dockerfile:1
#
# The Barrage image: one static binary for every role (server, worker, run,
# target, migrate). docker-compose.yml builds it; by hand:
#
#   docker build -t barrage:dev .
#   docker run --rm -p 127.0.0.1:8480:8480 barrage:dev          # server, all embedded
#   docker run --rm barrage:dev worker --server http://… --temporal …
#
# The build image must be at least the `go` line of go.mod (else the go command
# tries to download a newer toolchain).

FROM golang:1.26.8 AS build
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/barrage ./cmd/barrage

# Debian slim rather than distroless: compose's healthchecks need curl
# (GET /readyz), and an operator can open a shell in a worker.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 65532 barrage \
    && useradd --system --uid 65532 --gid barrage --home-dir /var/lib/barrage --shell /usr/sbin/nologin barrage \
    && mkdir -p /var/lib/barrage/spool \
    && chown -R barrage:barrage /var/lib/barrage
COPY --from=build /out/barrage /usr/local/bin/barrage
USER barrage:barrage
# The default server's SQLite files and a worker's spool live here; mount a
# volume to keep them.
WORKDIR /var/lib/barrage
EXPOSE 8480
ENTRYPOINT ["/usr/local/bin/barrage"]
# Without arguments: a self-contained server (embedded Temporal, SQLite).
CMD ["server", "--listen", "0.0.0.0:8480"]
