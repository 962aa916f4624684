# mcpmesh in a container: a static binary on distroless, run as non-root.
#   docker build -t mcpmesh --build-arg VERSION=$(git describe --always) .
#   docker run -p 8000:8000 -p 9000:9000/tcp -p 9000:9000/udp -e JWT_SECRET=... mcpmesh
# See docs/deploy.md. No HEALTHCHECK: orchestrators probe /health and /ready.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
        -o /out/mcpmesh ./cmd/mcpmesh \
    && mkdir -p /out/data

# distroless/static: CA certificates, tzdata and /etc/passwd's nonroot user
# (65532), no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/mcpmesh /usr/local/bin/mcpmesh
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
# HTTP (MCP, REST, /health, /ready, /metrics) and gossip (TCP and UDP).
ENV MCPMESH_HTTP=0.0.0.0:8000 \
    MCPMESH_GOSSIP=0.0.0.0:9000 \
    MCPMESH_DATA_DIR=/data
EXPOSE 8000/tcp 9000/tcp 9000/udp
VOLUME ["/data"]
ENTRYPOINT ["/usr/local/bin/mcpmesh"]
CMD ["serve"]
