#!/usr/bin/env bash
# The test command: set up .venv with the test extras, then run the whole suite.
# Extra arguments go to pytest (e.g. scripts/test.sh -k config -x).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
source scripts/setup_env.sh test,onnx
# MMAction2's own config files (0.24.1 and 1.2.0), to check that they load unchanged and
# build (skipped if offline).
fetch_mmaction_sdist() {
    local version="$1"
    [ -d ".cache/mmaction2-$version" ] && return 0
    mkdir -p .cache
    if timeout 120 python -m pip download -q --no-binary :all: --no-deps "mmaction2==$version" \
            -d .cache >/dev/null 2>&1; then
        tar -xzf ".cache/mmaction2-$version.tar.gz" -C .cache && rm -f ".cache/mmaction2-$version.tar.gz"
    else
        echo "[test] could not fetch the mmaction2 $version sdist; its config tests will be skipped"
    fi
}
fetch_mmaction_sdist 0.24.1
fetch_mmaction_sdist 1.2.0
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
exec python -m pytest -q "$@"
