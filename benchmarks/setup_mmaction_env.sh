#!/bin/sh
# Build MMAction2 0.24.1 (mmcv 1.7.0 without compiled ops) in its own venv, for the benchmarks
# and cross-checks that run it next to actionkit (`--mmaction-python DIR/bin/python`).
# Usage: sh benchmarks/setup_mmaction_env.sh [DIR]   (default /tmp/mmenv; needs PyPI and the
# 0.24.1 sdist that scripts/test.sh unpacks into .cache/)
set -eu
dir="${1:-/tmp/mmenv}"
root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/.cache/mmaction2-0.24.1"
[ -d "$src" ] || { echo "run scripts/test.sh once first: $src is missing" >&2; exit 1; }
python3 -m venv "$dir"
# mmcv 1.7.0's setup.py needs pkg_resources, which setuptools >= 70 no longer ships
"$dir/bin/pip" install -q "setuptools<70" wheel "numpy<2"
"$dir/bin/pip" install -q torch==2.13.0
MMCV_WITH_OPS=0 "$dir/bin/pip" install -q --no-build-isolation mmcv==1.7.0
"$dir/bin/pip" install -q decord opencv-python-headless av scipy einops
"$dir/bin/pip" install -q --no-deps --no-build-isolation -e "$src"
# the AVA detectors (benchmarks/ava_mmaction_check.py, ava_detector.py): mmdet 2.x is pure
# Python; PyPI's torchvision wheel is a CUDA build whose compiled ops do not load next to a CPU
# torch, and mmaction_compat.py then uses its pure-PyTorch roi_align for the missing mmcv.ops
"$dir/bin/pip" install -q --no-deps mmdet==2.28.2 "torchvision==0.28.*"
"$dir/bin/pip" install -q terminaltables pycocotools matplotlib six
echo "MMAction2 0.24.1 ready: $dir/bin/python"
