# syntax=docker/dockerfile:1
# The usvc image: the host binary and the production components, nothing else.
#
#   docker build -t usvc .
#   docker run -p 8080:8080 -v usvc-data:/app/data -e USVC_JWT_SIGNING_KEY="$(cat signing-key.pem)" \
#       -e USVC_SECRETS_KEY="$(openssl rand -base64 32)" -e USVC_KYC_GRPC_URL=http://kyc:50051 usvc
#
# The image runs in production mode, which refuses to start without USVC_JWT_SIGNING_KEY (an
# Ed25519 PKCS#8 PEM key), USVC_SECRETS_KEY and a KYC service (USVC_KYC_GRPC_URL, or
# USVC_UNSAFE_SANDBOX_KYC=true for a staging sandbox that approves everyone). Set
# USVC_MODE=development to try it without them: that mounts /dev/mailbox, which shows customers'
# one-time codes, so never do it where others can connect.

# --- Build -----------------------------------------------------------------------------------
# The toolchain the workspace's rust-version names.
FROM rust:1.95-bookworm AS build
RUN rustup target add wasm32-wasip2
WORKDIR /src
COPY . .
# BuildKit cache mounts keep downloaded crates and the target directory between builds, so the
# results are copied out of the cached target directory within the same step.
# The binary pins the digests of the components built here (host/build.rs): in production it
# loads a bare <kind>.wasm from /app/components only when it is one of these.
# Only production components ship: the <kind>.wasm of each crate directly under components/
# that declares a kind (the onboarding policy), never the test fixtures under components/fixtures/.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    set -eux; \
    cargo fetch --locked; \
    USVC_COMPONENTS_OUT=/out/built-components scripts/build-components.sh; \
    USVC_BASELINE_COMPONENTS=/out/built-components cargo build --release --locked -p usvc-host --bin usvc; \
    mkdir -p /out/components; \
    for kind in $(sed -n 's/^kind[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' components/*/Cargo.toml); do \
        cp "/out/built-components/$kind.wasm" /out/components/; \
    done; \
    cp target/release/usvc /out/usvc

# --- Run -------------------------------------------------------------------------------------
FROM debian:bookworm-slim
# CA certificates for the TLS connections later capabilities make (S3, AMQP, outbound APIs).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# A fixed numeric uid, so orchestrators can check runAsNonRoot. The user owns only its data folder:
# the binary and the components stay root-owned and read-only to the service.
RUN groupadd --system --gid 10001 usvc \
    && useradd --system --uid 10001 --gid usvc --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin usvc \
    && mkdir -p /app/data \
    && chown usvc:usvc /app/data
COPY --from=build /out/usvc /usr/local/bin/usvc
COPY --from=build /out/components /app/components
ENV USVC_MODE=production \
    USVC_COMPONENTS_DIR=/app/components \
    USVC_HTTP_ADDR=0.0.0.0:8080 \
    USVC_GRPC_ADDR=0.0.0.0:50051 \
    DATABASE_URL=sqlite:///app/data/usvc.db
# The embedded SQLite database; unused when DATABASE_URL names a PostgreSQL server.
VOLUME /app/data
WORKDIR /app
USER 10001:10001
EXPOSE 8080 50051
# No HEALTHCHECK: the slim base has neither curl nor wget, and adding an HTTP client to the image
# only for a probe widens what an attacker finds inside a bank's container. Whatever runs the
# container probes over the network instead: GET /healthz (liveness) and GET /readyz (readiness:
# database and component digests), e.g. Kubernetes httpGet probes; on the gRPC port, the standard
# grpc.health.v1 service (Kubernetes grpc probes).
# SIGTERM (the default stop signal) finishes the requests in flight, then exits.
ENTRYPOINT ["/usr/local/bin/usvc"]
