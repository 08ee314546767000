#!/usr/bin/env bash
# The test command: installs every dependency, builds, and runs the whole test suite with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
BUILD_DIR=${TEXTUNE_BUILD_DIR:-build}
cd "$BUILD_DIR"
ctest --output-on-failure -j "${TEXTUNE_TEST_JOBS:-$(nproc)}" "$@"
