#!/usr/bin/env bash
# The main job: installs every dependency, builds, then runs the demo on the data bundled in
# examples/. (Grows into fine-tune -> evaluate -> predict as the training layer lands.)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
BUILD_DIR=${TEXTUNE_BUILD_DIR:-build}
"$BUILD_DIR/textune" --help
