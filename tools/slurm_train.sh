#!/bin/sh
# POSIX sh: runs under sh (dash) and bash alike, as MMAction2's launch scripts do.
# Train on a slurm cluster: one task per GPU.
#   [GPUS=16] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#       tools/slurm_train.sh PARTITION JOB_NAME CONFIG [tools/train.py arguments]
# Elastic: MAX_RESTARTS=3 starts one torchrun agent per node instead (tools/dist_train.sh with
# the c10d rendezvous on the first node, run id SLURM_JOB_ID), which restarts every process up
# to 3 times after one fails, resuming from the newest checkpoint (--resume-from auto).
set -eu
if [ "$#" -lt 3 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG [tools/train.py arguments]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
shift 3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
MAX_RESTARTS=${MAX_RESTARTS:-0}
TOOLS_DIR=$(cd "$(dirname "$0")" && pwd)
# a job-specific port, so that several jobs can share a node (dist_params.port overrides it)
export MASTER_PORT=${MASTER_PORT:-$((12000 + $$ % 20000))}

set -x
if [ "$MAX_RESTARTS" -gt 0 ]; then
    NNODES=$(( (GPUS + GPUS_PER_NODE - 1) / GPUS_PER_NODE ))
    export NNODES MAX_RESTARTS PORT="$MASTER_PORT"
    # shellcheck disable=SC2086  # SRUN_ARGS holds several arguments
    exec srun -p "$PARTITION" --job-name="$JOB_NAME" --gres=gpu:"$GPUS_PER_NODE" \
        --nodes="$NNODES" --ntasks="$NNODES" --ntasks-per-node=1 \
        --cpus-per-task="$((CPUS_PER_TASK * GPUS_PER_NODE))" --kill-on-bad-exit=1 \
        $SRUN_ARGS sh "$TOOLS_DIR/dist_train.sh" "$CONFIG" "$GPUS_PER_NODE" "$@"
fi
# shellcheck disable=SC2086  # SRUN_ARGS holds several arguments
PYTHONPATH="$TOOLS_DIR/..${PYTHONPATH:+:$PYTHONPATH}" \
srun -p "$PARTITION" --job-name="$JOB_NAME" --gres=gpu:"$GPUS_PER_NODE" --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" --cpus-per-task="$CPUS_PER_TASK" --kill-on-bad-exit=1 \
    $SRUN_ARGS python -u "$TOOLS_DIR/train.py" "$CONFIG" --launcher="slurm" "$@"
