#!/bin/sh
# Build MMAction2 1.2.0 (mmengine, mmcv-lite 2.1.0: no compiled ops) in its own venv, for the
# cross-checks that run it next to actionkit on 1.x configs and checkpoints.
# Usage: sh benchmarks/setup_mmaction1_env.sh [DIR]   (default /tmp/mm1env; needs PyPI and the
# 1.2.0 sdist that scripts/test.sh unpacks into .cache/)
set -eu
dir="${1:-/tmp/mm1env}"
root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/.cache/mmaction2-1.2.0"
[ -d "$src" ] || { echo "run scripts/test.sh once first: $src is missing" >&2; exit 1; }
python3 -m venv "$dir"
"$dir/bin/pip" install -q "setuptools<70" wheel "numpy<2"
"$dir/bin/pip" install -q torch==2.13.0
"$dir/bin/pip" install -q mmengine==0.10.7 mmcv-lite==2.1.0
"$dir/bin/pip" install -q decord opencv-python-headless av scipy einops importlib_metadata
"$dir/bin/pip" install -q --no-deps --no-build-isolation "$src"
# 1.2.0's packages lack mmaction/models/localizers/drn (no __init__.py, so setup's find_packages
# skipped it) while localizers/__init__.py imports it: without this edit nothing imports
site="$("$dir/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
sed -i 's/^from .drn.drn import DRN$/DRN = None  # missing from the 1.2.0 packages/' \
    "$site/mmaction/models/localizers/__init__.py"
echo "MMAction2 1.2.0 ready: $dir/bin/python"
