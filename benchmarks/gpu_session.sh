#!/usr/bin/env bash
# The GPU checks of the training-engine and 3D-zoo issues, in one call of a lent GPU machine.
#
#   bash benchmarks/gpu_session.sh [OUT_DIR]
#
# Needs a Python 3 with CUDA torch (python3). Optional, carried next to the repo:
#   .whl/*.whl                    wheels installed into /tmp/site (PyAV; mmcv 1.7.0 + addict,
#                                 yapf and their needs for MMAction2 0.x)
#   .cache/mmaction2-0.24.1/      MMAction2 0.24.1's source (scripts/test.sh fetches it)
# Writes one log per step into OUT_DIR (default $OUT, else /tmp/gpu_session) and ends with the
# tables. Each step has its own time limit, so one failure does not hide the others.
set -u
OUT_DIR=${1:-${OUT:-/tmp/gpu_session}}
mkdir -p "$OUT_DIR"
export PYTHONUNBUFFERED=1
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
fi
export PYTHONPATH="$REPO:/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p /tmp/bin  # the launch scripts call `python`
printf '#!/bin/sh\nexec %s "$@"\n' "$(command -v python3)" >/tmp/bin/python && chmod +x /tmp/bin/python
export PATH="/tmp/bin:$PATH"

step() {  # step NAME SECONDS COMMAND...
    local name=$1 limit=$2
    shift 2
    echo "=== $name (limit ${limit}s): $*"
    local start=$SECONDS
    timeout "$limit" "$@" >"$OUT_DIR/$name.log" 2>&1
    local rc=$?
    echo "=== $name: exit $rc after $((SECONDS - start)) s"
    tail -n 25 "$OUT_DIR/$name.log"
}

{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    nproc
    python3 -c "import torch, numpy, cv2, av; print('torch', torch.__version__, 'numpy',
numpy.__version__, 'cv2', cv2.__version__, 'av', av.__version__)"
} >"$OUT_DIR/env.log" 2>&1
cat "$OUT_DIR/env.log"

# issue 5: AMP training and inference throughput of every 3D architecture
[ -z "${SKIP_MODELS:-}" ] && step models 150 python3 benchmarks/models.py --device cuda --batch 8

# issue 4: TSM-R50 training throughput, ours (fp32, AMP, AMP + channels_last) and MMAction2 0.x
MM=()
if [ -d .cache/mmaction2-0.24.1 ] && python3 -c "import mmcv; print('mmcv', mmcv.__version__)"; then
    MM=(--mmaction-python python3)
fi
step train_throughput 330 python3 benchmarks/train_throughput.py --device cuda --size 224 \
    --frame-size 256 --iters 40 --warmup 8 --workers 12 --modes ${MODES:-fp32 amp amp+cl} \
    --threads 4 --gen-workers 14 --data-dir /tmp/tt_data --sources ${SOURCES:-videos rawframes} \
    "${MM[@]}"

# issue 4: the launch scripts on a GPU: NCCL, AMP, channels-last, validation, then a
# distributed test with --gpu-collect
[ -n "${SKIP_DIST:-}" ] && { grep -A 20 "^impl" "$OUT_DIR/train_throughput.log"; exit 0; }
python3 -m actionkit.cli data synthetic --out data/synthetic --num-train 1024 --num-val 256 \
    --workers 14 >/dev/null 2>&1
cat >/tmp/gpu_tsm.py <<PY
_base_ = ['$REPO/configs/synthetic/tsm_r18_1x1x8_synthetic_video.py']
fp16 = dict(loss_scale='dynamic')
channels_last = True
cudnn_benchmark = True
total_epochs = 3
dist_params = dict(backend='nccl')
data = dict(workers_per_gpu=8)
PY
step dist_train 120 env PORT=29511 bash tools/dist_train.sh /tmp/gpu_tsm.py 1 --validate \
    --work-dir /tmp/gpu_work --seed 0
step dist_test 60 env PORT=29512 bash tools/dist_test.sh /tmp/gpu_tsm.py /tmp/gpu_work/latest.pth \
    1 --eval top_k_accuracy mean_class_accuracy --gpu-collect --out /tmp/gpu_work/pred.pkl
echo "=== tables"
grep -A 20 "^arch" "$OUT_DIR/models.log" 2>/dev/null
grep -A 20 "^impl" "$OUT_DIR/train_throughput.log"
grep -E "top1_acc|mean_class_accuracy" "$OUT_DIR/dist_test.log" | tail -3
