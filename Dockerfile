# Kiln on Debian 12, in two stages: the build stage compiles the release binary with Debian's
# packages (scripts/install-deps.sh's build subset); the runtime stage has only the libraries it
# links, the binary and a document root. docs/operations.md, "Docker", says how to use it.
#
#   docker build -t kiln .
#   docker run -p 8080:8080 -v "$PWD/public:/var/www/html:ro" kiln
#
# Settings are environment variables (docs/configuration.md): docker run -e PHP_WORKERS=8 ...

FROM debian:12-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential pkg-config node-llhttp \
      libphp8.2-embed php8.2-dev \
      libnghttp2-dev libssl-dev libbrotli-dev zlib1g-dev libzstd-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY src ./src
RUN make all

FROM debian:12-slim
# libphp8.2-embed brings PHP's own libraries (libxml2, ICU, PCRE2, libsodium, ...) and
# php8.2-cli; the rest is what `ldd build/release/kiln` lists besides libc.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libphp8.2-embed php8.2-opcache \
      libssl3 libnghttp2-14 libbrotli1 zlib1g libzstd1 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/release/kiln /usr/sbin/kiln
COPY www/ /var/www/html/

# The internal server (/live, /ready, /metrics) is for the orchestrator and Prometheus: publish
# only 8080. Kiln runs as PID 1 without an init: it takes signals through a signalfd and reaps
# its children (docs/observability.md, "Kubernetes termination").
ENV LISTEN_ADDR=0.0.0.0:8080 \
    INTERNAL_ADDR=0.0.0.0:9090 \
    DOCUMENT_ROOT=/var/www/html
USER www-data
EXPOSE 8080 9090
STOPSIGNAL SIGTERM
# /live over bash's /dev/tcp: no curl in the image. It assumes INTERNAL_ADDR's port 9090.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9090 && printf 'GET /live HTTP/1.0\\r\\n\\r\\n' >&3 && head -c 12 <&3 | grep -q ' 200'"]
ENTRYPOINT ["/usr/sbin/kiln"]
