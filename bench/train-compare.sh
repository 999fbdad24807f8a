#!/usr/bin/env bash
# Full LeNet-5 training on Fashion-MNIST (3 epochs, seed 42, data loading included) with the
# pure-Java and the native CPU backend, alternating in one run, repeated; prints each run's
# train_images_per_s and test_accuracy, the medians and the cpu/java ratio.
# Usage: bench/train-compare.sh [repeats=3] [extra train options...]
set -euo pipefail
cd "$(dirname "$0")/.."
repeats="${1:-3}"
shift || true
declare -A rates acc
for r in $(seq 1 "$repeats"); do
  for b in java cpu; do
    line="$(./cnn4j train --epochs 3 --seed 42 --backend "$b" --no-progress --out "runs/compare-$b-$r" "$@" | tail -1)"
    ips="$(sed -n 's/.* train_images_per_s=\([0-9]*\).*/\1/p' <<<"$line")"
    ta="$(sed -n 's/.* test_accuracy=\([0-9.]*\).*/\1/p' <<<"$line")"
    echo "run $r backend=$b train_images_per_s=$ips test_accuracy=$ta"
    rates[$b]+="$ips "
    acc[$b]="$ta"
  done
done
median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
mj="$(median "${rates[java]}")"
mc="$(median "${rates[cpu]}")"
echo "result: java_median=$mj cpu_median=$mc ratio=$(awk -v a="$mc" -v b="$mj" 'BEGIN {printf "%.2f", a / b}') java_accuracy=${acc[java]} cpu_accuracy=${acc[cpu]}"
