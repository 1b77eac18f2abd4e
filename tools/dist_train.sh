#!/bin/sh
# POSIX sh: runs under sh (dash) and bash alike, as MMAction2's launch scripts do.
# Train with GPUS processes on this machine (several machines: NNODES, NODE_RANK, MASTER_ADDR).
#   tools/dist_train.sh CONFIG GPUS [tools/train.py arguments]
#   NNODES=2 NODE_RANK=0 PORT=29500 MASTER_ADDR=10.0.0.1 tools/dist_train.sh CONFIG 8 --validate
# Elastic: MAX_RESTARTS=3 restarts the job (every process) up to 3 times after a process fails,
# resuming from the newest checkpoint (--resume-from auto unless you give --resume-from), with
# torchrun's c10d rendezvous on MASTER_ADDR:PORT (RDZV_ID names the job: the same on every
# node; default SLURM_JOB_ID, else actionkit-PORT; NODE_RANK is then chosen by torchrun):
#   MAX_RESTARTS=3 tools/dist_train.sh CONFIG 8
# which runs
#   torchrun --nnodes=1 --nproc_per_node=8 --max-restarts=3 --rdzv-backend=c10d \
#       --rdzv-endpoint=127.0.0.1:29500 --rdzv-id=actionkit-29500 \
#       tools/train.py CONFIG --launcher pytorch --resume-from auto
set -eu
if [ "$#" -lt 2 ]; then
    echo "usage: $0 CONFIG GPUS [tools/train.py arguments]" >&2
    exit 2
fi
CONFIG=$1
GPUS=$2
shift 2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MAX_RESTARTS=${MAX_RESTARTS:-0}
TOOLS_DIR=$(cd "$(dirname "$0")" && pwd)
if [ -z "${MASTER_ADDR:-}" ] && [ "$MAX_RESTARTS" -gt 0 ] && [ -n "${SLURM_JOB_NODELIST:-}" ]; then
    # one agent per node of a slurm job (tools/slurm_train.sh): the first node hosts the store
    MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
fi
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
export PYTHONPATH="$TOOLS_DIR/..${PYTHONPATH:+:$PYTHONPATH}"

if [ "$MAX_RESTARTS" -gt 0 ]; then
    RDZV_ID=${RDZV_ID:-${SLURM_JOB_ID:-actionkit-$PORT}}
    RESUME="--resume-from=auto"
    for arg in "$@"; do
        case $arg in
            --resume-from|--resume-from=*) RESUME="" ;;
        esac
    done
    # shellcheck disable=SC2086  # RESUME is one argument or none
    exec python -m torch.distributed.run --nnodes="$NNODES" --nproc_per_node="$GPUS" \
        --max-restarts="$MAX_RESTARTS" --rdzv-backend=c10d \
        --rdzv-endpoint="$MASTER_ADDR:$PORT" --rdzv-id="$RDZV_ID" \
        "$TOOLS_DIR/train.py" "$CONFIG" --launcher pytorch $RESUME "$@"
fi
python -m torch.distributed.run --nnodes="$NNODES" --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" --master_port="$PORT" --nproc_per_node="$GPUS" \
    "$TOOLS_DIR/train.py" "$CONFIG" --launcher pytorch "$@"
