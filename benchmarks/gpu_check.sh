#!/usr/bin/env bash
# The prepared GPU check (benchmarks/gpu_check.py): tests, attention vs flash SDPA, MeshConv, AMP training.
#
#   bash benchmarks/gpu_check.sh OUT_DIR [--dry-run] [--parts ...] [--budget PART=SECONDS ...]
#
# Uses the machine's own torch and Triton and this checkout (through PYTHONPATH: nothing is
# installed, nothing is downloaded). Writes OUT_DIR/gpu_check.json and OUT_DIR/gpu_check.md.
set -euo pipefail
if [ $# -lt 1 ]; then
    echo "usage: bash benchmarks/gpu_check.sh OUT_DIR [gpu_check.py options]" >&2
    exit 2
fi
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
exec "${PYTHON:-python3}" benchmarks/gpu_check.py "$@"
