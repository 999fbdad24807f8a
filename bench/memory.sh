#!/usr/bin/env bash
# Resident memory of a long training run with checkpoints: LeNet-5 on Fashion-MNIST for
# EPOCHS epochs (default 20), a checkpoint every epoch, through the launcher's JVM settings.
# Prints the resident memory at each epoch's end (from metrics.csv) and its range over
# epochs 3..EPOCHS.
#   bench/memory.sh [EPOCHS] [extra train options...]
set -euo pipefail
cd "$(dirname "$0")/.."
epochs="${1:-20}"
shift || true
out="$(mktemp -d)/run"
./cnn4j train --epochs "$epochs" --checkpoint-every 1 --out "$out" --no-progress "$@" | tail -1
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); java: $(java -version 2>&1 | head -1)"
awk -F, 'NR==1 { for (i = 1; i <= NF; i++) if ($i == "resident_mb") c = i; next }
         { printf "epoch %d: %s MiB\n", $1, $c; if ($1 >= 3) { if (lo == "" || $c < lo) lo = $c; if ($c > hi) hi = $c } }
         END { printf "epochs 3-%d: %d..%d MiB (spread %d MiB)\n", NR - 1, lo, hi, hi - lo }' "$out/metrics.csv"
ls -l "$out/checkpoints"
rm -rf "$(dirname "$out")"
