# scalesim's image for sharded runs on Kubernetes (deploy/kubernetes/): the binary, and the
# repository's experiments and models in /work, where results/ is a mounted volume.
#
#   docker build -t scalesim:0.1 .
#
# Stage 1 builds the release binary with the locked dependencies; stage 2 is a slim runtime
# with nothing but it and the files experiments read.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY benches benches
COPY assets assets
RUN cargo build --release --locked --bin scalesim

FROM debian:bookworm-slim
COPY --from=build /src/target/release/scalesim /usr/local/bin/scalesim
WORKDIR /work
COPY experiments experiments
COPY models models
CMD ["scalesim", "--help"]
