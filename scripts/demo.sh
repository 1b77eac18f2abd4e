#!/usr/bin/env bash
# The demo: set up .venv, then generate the synthetic dataset, train a small TSM on it,
# test the best checkpoint and run inference on a held-out video (see README).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
source scripts/setup_env.sh
exec python -m actionkit.cli demo "$@"
