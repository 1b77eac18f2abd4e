#!/usr/bin/env bash
# The test command: set up .venv with the test extras, then run the whole suite.
# Extra arguments go to pytest (e.g. scripts/test.sh -k config -x).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
source scripts/setup_env.sh test,onnx
# MMAction2 0.24.1's own config files, to check that they load unchanged (skipped if offline).
if [ ! -d .cache/mmaction2-0.24.1 ]; then
    mkdir -p .cache
    if timeout 120 python -m pip download -q --no-binary :all: --no-deps mmaction2==0.24.1 -d .cache >/dev/null 2>&1; then
        tar -xzf .cache/mmaction2-0.24.1.tar.gz -C .cache && rm -f .cache/mmaction2-0.24.1.tar.gz
    else
        echo "[test] could not fetch the mmaction2 0.24.1 sdist; its config tests will be skipped"
    fi
fi
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
exec python -m pytest -q "$@"
