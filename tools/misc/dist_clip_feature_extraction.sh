#!/bin/sh
# POSIX sh: runs under sh (dash) and bash alike, as MMAction2's launch scripts do.
# Clip feature extraction with GPUS processes on this machine (several machines: NNODES,
# NODE_RANK, MASTER_ADDR).
#   tools/misc/dist_clip_feature_extraction.sh CONFIG CHECKPOINT GPUS \
#       --video-list LIST [--video-root DIR] --out FEATURES.pkl [other arguments]
set -eu
if [ "$#" -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT GPUS [tools/misc/clip_feature_extraction.py arguments]" >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
shift 3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
MISC_DIR=$(cd "$(dirname "$0")" && pwd)

PYTHONPATH="$MISC_DIR/../..${PYTHONPATH:+:$PYTHONPATH}" \
python -m torch.distributed.run --nnodes="$NNODES" --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" --master_port="$PORT" --nproc_per_node="$GPUS" \
    "$MISC_DIR/clip_feature_extraction.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "$@"
