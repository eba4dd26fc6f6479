#!/usr/bin/env bash
# build.sh -- configure and build plinth in ./build (Release, -j2). Assumes the dependencies
# are installed (scripts/install-deps.sh). Extra arguments go to the CMake configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build -j2
