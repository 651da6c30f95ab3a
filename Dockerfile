# syntax=docker/dockerfile:1
# Multi-stage build: a full Rust toolchain builds a release binary; the runtime image
# is distroless (glibc + CA certificates, no shell), runs as the non-root user 65532.

FROM rust:1-slim-bookworm AS build
# libjpeg-turbo (the JPEG codec) is compiled from native/ by build.rs with the C
# compiler the image has: no cmake or nasm.
WORKDIR /src
# Dependencies (and libjpeg-turbo) first, so code changes don't rebuild them.
COPY Cargo.toml Cargo.lock build.rs ./
COPY native native
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src
COPY config config
COPY src src
RUN touch src/main.rs src/lib.rs && cargo build --release --locked \
    && mkdir -p /out/data && cp target/release/photoshare /out/photoshare

FROM gcr.io/distroless/cc-debian12:nonroot
WORKDIR /app
COPY --from=build /out/photoshare /app/photoshare
COPY --from=build /src/config /app/config
COPY --from=build --chown=65532:65532 /out/data /data
ENV APP_ENV=production \
    PHOTOSHARE__DATA_DIR=/data \
    PHOTOSHARE__SERVER__HOST=0.0.0.0 \
    PHOTOSHARE__SERVER__PORT=8000
VOLUME ["/data"]
EXPOSE 8000
USER 65532:65532
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/app/photoshare", "healthcheck"]
ENTRYPOINT ["/app/photoshare"]
CMD ["serve"]
