#!/usr/bin/env bash
# Create ./.venv if needed and install actionkit into it (editable) with the given extras.
# Usage: source scripts/setup_env.sh [EXTRAS]     e.g. EXTRAS=test,onnx
# torch is installed first and on its own, as the CPU build: TORCH_SPEC (default torch==2.13.0)
# and TORCH_INDEX_URL (e.g. https://download.pytorch.org/whl/cpu) choose it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
extras="${1:-}"
python_bin="${PYTHON:-python3}"
cd "$root"
if [ ! -x .venv/bin/python ]; then
    echo "[setup] creating .venv with $($python_bin --version)"
    "$python_bin" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
stamp=".venv/.actionkit-installed"
want="$(cat pyproject.toml | sha1sum | cut -c1-16) extras=$extras"
if [ -f "$stamp" ] && grep -qxF "$want" "$stamp"; then
    return 0 2>/dev/null || exit 0
fi
python -m pip install -q --upgrade pip >/dev/null
if ! python -c "import torch" >/dev/null 2>&1; then
    echo "[setup] installing ${TORCH_SPEC:-torch==2.13.0} (CPU build)"
    if [ -n "${TORCH_INDEX_URL:-}" ]; then
        python -m pip install -q "${TORCH_SPEC:-torch==2.13.0}" --index-url "$TORCH_INDEX_URL"
    else
        python -m pip install -q "${TORCH_SPEC:-torch==2.13.0}"
    fi
fi
spec="."
[ -n "$extras" ] && spec=".[$extras]"
echo "[setup] installing actionkit $spec"
python -m pip install -q -e "$spec"
echo "$want" >> "$stamp"
