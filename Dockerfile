# destination-postgres: build on Debian 12 (bookworm), run on a slim bookworm image.
# The build stage's packages are the "Building" ones of scripts/setup (scripts/check-packaging
# compares them); the run stage has the libraries they link to.
FROM debian:bookworm AS build
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      build-essential cmake pkg-config \
      libsimdjson-dev nlohmann-json3-dev libpq-dev libfmt-dev libspdlog-dev libcli11-dev libssh-dev \
      libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake ./cmake
COPY include ./include
COPY src ./src
COPY resources ./resources
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DPGDEST_TESTS=OFF \
 && cmake --build build --target destination-postgres -j"$(nproc)" \
 && strip build/destination-postgres

FROM debian:bookworm-slim
# uid and gid 1000, as in Airbyte's own connector images.
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libsimdjson14 libpq5 libfmt9 libspdlog1.10 libssh-4 libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 1000 airbyte \
 && useradd --uid 1000 --gid 1000 --home-dir /airbyte --no-create-home --shell /usr/sbin/nologin airbyte \
 && mkdir -p /airbyte && chown airbyte:airbyte /airbyte
COPY --from=build /src/build/destination-postgres /airbyte/destination-postgres
WORKDIR /airbyte
# Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 1000:1000
ENV AIRBYTE_ENTRYPOINT="/airbyte/destination-postgres"
ENTRYPOINT ["/airbyte/destination-postgres"]
LABEL io.airbyte.name=pgdest/destination-postgres
LABEL io.airbyte.version=0.1.0
