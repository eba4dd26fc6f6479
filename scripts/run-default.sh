#!/usr/bin/env bash
# run-default.sh -- the README's first command: install the dependencies, build, prepare the
# built-in corpus (Debian's fortunes, one fortune per document), train the default small GPT
# and print progress, validation loss and a text sample.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh build test
mkdir -p build && bash scripts/build.sh
mkdir -p data
if [ ! -f data/fortunes.h5 ]; then
  ./build/launch/plinth prepare --input '/usr/share/games/fortunes/*' --exclude-suffix .dat \
    --exclude-suffix .u8 --separator % --output data/fortunes.h5
fi
./build/launch/plinth train --config configs/default.ini "$@"
