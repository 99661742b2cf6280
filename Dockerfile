# Toolchain images for the Microdot firmware kit: one build target per MicroPython port.
#
# `make BOARD=<BOARD> firmware` builds (once) and reuses these images for you. By hand:
#   docker build --target esp32 -t microdot-kit/esp32:v1.28.0-idf-v5.5.1 .
#   docker build --target rp2   -t microdot-kit/rp2:v1.28.0 .
#   docker build --target unix  -t microdot-kit/unix:v1.28.0 .
#
# esp32 / rp2 / unix     toolchain + MicroPython cloned at MICROPY_VERSION (with the submodules
#                        the port needs) + mpy-cross built inside, in /opt/micropython.
# <port>-toolchain       the compilers only. `make firmware MICROPY_DIR=/path` mounts your own
#                        MicroPython checkout into these instead of using a cloned copy.
#
# Versions are build arguments (tools/build/plan.py passes MICROPY_VERSION / IDF_VERSION from the
# environment and puts them in the image tag):
#   --build-arg MICROPY_VERSION=v1.27.0 --build-arg IDF_VERSION=v5.4.2
# Upstream images are pinned by version; pin them by digest too with
#   --build-arg IDF_IMAGE=espressif/idf:v5.5.1@sha256:<digest>
#   --build-arg DEBIAN_IMAGE=debian:bookworm-slim@sha256:<digest>
# The build context needs nothing: .dockerignore excludes the whole project.

ARG MICROPY_VERSION=v1.28.0
ARG IDF_VERSION=v5.5.1
ARG IDF_IMAGE=espressif/idf:${IDF_VERSION}
ARG DEBIAN_IMAGE=debian:bookworm-slim
ARG MICROPY_REPO=https://github.com/micropython/micropython.git
ARG PICOTOOL_REPO=https://github.com/raspberrypi/picotool.git
ARG PICO_SDK_REPO=https://github.com/raspberrypi/pico-sdk.git
# The pico-sdk of MicroPython v1.28.0; the rp2 images carry a picotool of this version.
ARG PICO_SDK_VERSION=2.2.0
# The boards the esp32 image fetches submodules for (each board may need different ones).
ARG ESP32_BOARDS="ESP32_GENERIC ESP32_GENERIC_S3 ESP32_GENERIC_C3 ESP32_GENERIC_C6"
ARG RP2_BOARDS="RPI_PICO_W RPI_PICO2_W"
# Make arguments of the kit's unix board: no btree; TLS (mbedtls) stays, hashlib.sha1 needs it.
ARG UNIX_MAKE_ARGS="VARIANT=standard MICROPY_PY_BTREE=0"


# ---------------------------------------------------------------------------------------------
# unix: gcc from Debian.
FROM ${DEBIAN_IMAGE} AS unix-toolchain
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential pkg-config libffi-dev python3 git ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && git config --system --add safe.directory '*'
ENV HOME=/tmp
LABEL org.microdot-kit.port="unix"

FROM unix-toolchain AS unix
ARG MICROPY_VERSION
ARG MICROPY_REPO
ARG UNIX_MAKE_ARGS
RUN git clone --depth 1 --branch "${MICROPY_VERSION}" "${MICROPY_REPO}" /opt/micropython \
 && make -C /opt/micropython/ports/unix ${UNIX_MAKE_ARGS} submodules \
 && make -C /opt/micropython/mpy-cross -j"$(nproc)" \
 && chmod -R a+rwX /opt/micropython
ENV MICROPY_DIR=/opt/micropython
WORKDIR /opt/micropython
LABEL org.microdot-kit.micropython-version="${MICROPY_VERSION}"


# ---------------------------------------------------------------------------------------------
# rp2: the Arm GCC toolchain and cmake from Debian. pico-sdk 2.x also wants a host picotool of
# its own version: the image builds one for PICO_SDK_VERSION (the pico-sdk of MicroPython
# v1.28.0), so firmware builds need no network. A checkout with another pico-sdk makes the rp2
# image build the matching picotool; with the toolchain image pico-sdk fetches it on first use.
FROM ${DEBIAN_IMAGE} AS rp2-toolchain
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake gcc-arm-none-eabi libnewlib-arm-none-eabi \
      libstdc++-arm-none-eabi-newlib libusb-1.0-0-dev pkg-config python3 git ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && git config --system --add safe.directory '*'
ARG PICO_SDK_VERSION
ARG PICO_SDK_REPO
ARG PICOTOOL_REPO
RUN git clone --depth 1 --branch "${PICO_SDK_VERSION}" "${PICO_SDK_REPO}" /tmp/pico-sdk \
 && git clone --depth 1 --branch "${PICO_SDK_VERSION}" "${PICOTOOL_REPO}" /tmp/picotool \
 && cmake -S /tmp/picotool -B /tmp/picotool/build -DPICO_SDK_PATH=/tmp/pico-sdk -DCMAKE_BUILD_TYPE=Release \
 && cmake --build /tmp/picotool/build -j"$(nproc)" \
 && cmake --install /tmp/picotool/build \
 && rm -rf /tmp/pico-sdk /tmp/picotool
ENV HOME=/tmp
LABEL org.microdot-kit.port="rp2"

FROM rp2-toolchain AS rp2
ARG MICROPY_VERSION
ARG MICROPY_REPO
ARG PICOTOOL_REPO
ARG RP2_BOARDS
RUN git clone --depth 1 --branch "${MICROPY_VERSION}" "${MICROPY_REPO}" /opt/micropython \
 && for board in ${RP2_BOARDS}; do make -C /opt/micropython/ports/rp2 BOARD="$board" submodules || exit 1; done \
 && make -C /opt/micropython/mpy-cross -j"$(nproc)"
RUN set -e; sdk=/opt/micropython/lib/pico-sdk; \
    v() { sed -n "s/.*set(PICO_SDK_VERSION_$1 \([0-9]*\)).*/\1/p" "$sdk/pico_sdk_version.cmake"; }; \
    version="$(v MAJOR).$(v MINOR).$(v REVISION)"; \
    if ! picotool version 2>/dev/null | grep -q "v$version\b"; then \
      git clone --depth 1 --branch "$version" "${PICOTOOL_REPO}" /tmp/picotool; \
      cmake -S /tmp/picotool -B /tmp/picotool/build -DPICO_SDK_PATH="$sdk" -DCMAKE_BUILD_TYPE=Release; \
      cmake --build /tmp/picotool/build -j"$(nproc)"; \
      cmake --install /tmp/picotool/build; \
      rm -rf /tmp/picotool; \
    fi; \
    chmod -R a+rwX /opt/micropython
ENV MICROPY_DIR=/opt/micropython
WORKDIR /opt/micropython
LABEL org.microdot-kit.micropython-version="${MICROPY_VERSION}"


# ---------------------------------------------------------------------------------------------
# esp32: Espressif's ESP-IDF image (its entrypoint sources export.sh for every command).
FROM ${IDF_IMAGE} AS esp32-toolchain
ARG IDF_VERSION
RUN git config --system --add safe.directory '*'
# Espressif's QEMU for ESP32-C3 and ESP32 (boards ESP32_C3_QEMU, ESP32_QEMU; `python -m tools.targets.qemu_esp32`),
# installed the way ESP-IDF installs it: idf_tools.py puts it under $IDF_TOOLS_PATH and export.sh (the
# entrypoint) adds qemu-system-riscv32 and qemu-system-xtensa to PATH. The libraries are its run-time dependencies.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libgcrypt20 libglib2.0-0 libpixman-1-0 libsdl2-2.0-0 libslirp0 \
 && rm -rf /var/lib/apt/lists/* \
 && python3 "$IDF_PATH/tools/idf_tools.py" install qemu-riscv32 qemu-xtensa \
 && chmod -R a+rX "${IDF_TOOLS_PATH:-/opt/esp}"
ENV HOME=/tmp
LABEL org.microdot-kit.port="esp32" org.microdot-kit.idf-version="${IDF_VERSION}"

FROM esp32-toolchain AS esp32
ARG MICROPY_VERSION
ARG MICROPY_REPO
ARG ESP32_BOARDS
RUN git clone --depth 1 --branch "${MICROPY_VERSION}" "${MICROPY_REPO}" /opt/micropython \
 && bash -c '. "$IDF_PATH/export.sh" > /dev/null \
      && for board in ${ESP32_BOARDS}; do \
           make -C /opt/micropython/ports/esp32 BOARD="$board" submodules || exit 1; \
         done \
      && rm -rf /opt/micropython/ports/esp32/build-*' \
 && make -C /opt/micropython/mpy-cross -j"$(nproc)" \
 && chmod -R a+rwX /opt/micropython
ENV MICROPY_DIR=/opt/micropython
WORKDIR /opt/micropython
LABEL org.microdot-kit.micropython-version="${MICROPY_VERSION}"
