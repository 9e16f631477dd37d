# destination-postgres: build on Debian 12 (bookworm), run on a slim bookworm image.
# The build stage's packages are the ones scripts/setup installs for building.
FROM debian:bookworm AS build
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      build-essential cmake pkg-config \
      libsimdjson-dev nlohmann-json3-dev libpq-dev libfmt-dev libspdlog-dev libcli11-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake ./cmake
COPY include ./include
COPY src ./src
COPY resources ./resources
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DPGDEST_TESTS=OFF \
 && cmake --build build -j"$(nproc)" \
 && strip build/destination-postgres

FROM debian:bookworm-slim
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libsimdjson14 libpq5 libfmt9 libspdlog1.10 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 1000 --home-dir /airbyte airbyte \
 && mkdir -p /airbyte && chown airbyte /airbyte
COPY --from=build /src/build/destination-postgres /airbyte/destination-postgres
WORKDIR /airbyte
USER airbyte
ENV AIRBYTE_ENTRYPOINT="/airbyte/destination-postgres"
ENTRYPOINT ["/airbyte/destination-postgres"]
LABEL io.airbyte.name=airbyte/destination-postgres
LABEL io.airbyte.version=0.1.0
