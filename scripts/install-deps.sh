#!/usr/bin/env bash
# Installs every build and runtime package textune needs, from Debian 12's archive.
# The only place that lists packages. Idempotent and quiet: safe to run twice.
set -euo pipefail

PACKAGES=(
  # toolchain and test/bench frameworks
  build-essential cmake ninja-build pkg-config git ca-certificates
  libgtest-dev libgmock-dev libbenchmark-dev
  # tensors: LibTorch 1.13 (CPU) and an optimised BLAS (reference BLAS is 48x slower)
  libtorch-dev libopenblas0-pthread
  # text: Unicode normalization, regexes
  libutf8proc-dev libpcre2-dev
  # files: JSON, xlsx (zip + xml)
  nlohmann-json3-dev libzip-dev libpugixml-dev
  # serving, Hub client, logging, command line
  libcpp-httplib-dev libssl-dev libcurl4-openssl-dev libspdlog-dev libfmt-dev libcli11-dev
  # plots (PNG): cairo draws lines and text
  libcairo2-dev
  # tests and benchmarks: the live reference tokenizer (Node), load generator, fastText baseline
  wrk fasttext
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js with npm runs the reference tokenizer; machines of this kind ship it (NodeSource build,
# which conflicts with Debian's separate npm package), so Debian's is installed only when absent.
if ! command -v npm >/dev/null 2>&1; then missing+=(nodejs npm); fi

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# OpenBLAS must be the BLAS that LibTorch sees (Debian's alternatives may point at reference BLAS).
for alt in libblas.so.3-x86_64-linux-gnu liblapack.so.3-x86_64-linux-gnu; do
  if update-alternatives --query "$alt" >/dev/null 2>&1; then
    target=$(update-alternatives --list "$alt" | grep openblas-pthread | head -n1 || true)
    if [ -n "$target" ]; then
      SUDO=""; if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
      $SUDO update-alternatives --set "$alt" "$target" >/dev/null
    fi
  fi
done
# The live reference tokenizer (Hugging Face tokenizers behind a Node binding) for the tokenizer
# differential tests and benchmarks: tools/reference/package-lock.json pins it.
REF_DIR="$(cd "$(dirname "$0")/.." && pwd)/tools/reference"
if [ -f "$REF_DIR/package-lock.json" ] && [ ! -f "$REF_DIR/node_modules/@anush008/tokenizers/package.json" ]; then
  (cd "$REF_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
echo "install-deps: all packages present"
