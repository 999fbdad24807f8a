#!/usr/bin/env bash
# Runs on the GPU machine, from the repository root, after bench/gpu/prepare.sh here.
# One phase per call (a call may run 10 minutes at most); logs and results go to $OUT.
#   tests     CUDA parity, runtime (TF32, uploads, graphs, pool), gradient-check and
#             convergence (LeNet-5, 3 epochs, bar 0.885) suites, a missing GPU failing them
#   memcheck  compute-sanitizer memcheck on the suites
#   racecheck compute-sanitizer racecheck (shared-memory hazards) on the suites
#   train     LeNet-5 on Fashion-MNIST, 3 epochs, --backend cuda (bar 0.885), FP32 and TF32;
#             ResNet-20 --augment on Fashion-MNIST within 5 minutes (bar 0.94); needs
#             .device-data/fashion-mnist (carried in a call of its own: see README.md)
#   race      cnn4j bench (cuda against cpu), then bench/race.py --kernels
set -uo pipefail
OUT="${OUT:-out}"
mkdir -p "$OUT"
J=.device/jre/bin/java
export CNN4J_DATA="${CNN4J_DATA:-$PWD/.device-data/fashion-mnist}"
CP=".device/cnn4j.jar:.device/lib/*"
TCP=".device/test-classes:$CP:.device/testlib/*"
LAUNCH=".device/junit-platform-console-standalone-1.10.2.jar"
CLI="$J -cp $CP org.cnn4j.cli.Main"
{ nvidia-smi; nvcc --version; python3 -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda)'; } \
  > "$OUT/machine.txt" 2>&1
suites() {
  "$@" $J -Dcnn4j.expectGpu=true -Dcnn4j.expectNative=true -jar "$LAUNCH" execute -cp "$TCP" \
    --select-class org.cnn4j.backend.CudaParityTest --select-class org.cnn4j.backend.CudaRuntimeTest \
    --select-class org.cnn4j.nn.CudaGradientCheckTest --select-class org.cnn4j.train.CudaConvergenceTest \
    --details=tree --disable-banner
}
phase() { echo "$1: exit $2" | tee -a "$OUT/summary.txt"; }
for p in "${@:-tests}"; do
  case "$p" in
    tests) suites > "$OUT/gpu-tests.txt" 2>&1; phase tests $? ;;
    memcheck)
      suites compute-sanitizer --tool memcheck --leak-check full --target-processes all > "$OUT/memcheck.txt" 2>&1
      phase "memcheck ($(grep -c 'ERROR SUMMARY: 0 errors' "$OUT/memcheck.txt") clean summaries)" $? ;;
    racecheck)
      suites compute-sanitizer --tool racecheck --target-processes all > "$OUT/racecheck.txt" 2>&1
      phase "racecheck ($(grep -c 'RACECHECK SUMMARY: 0 hazards' "$OUT/racecheck.txt") clean summaries)" $? ;;
    train)
      for prec in fp32 tf32; do
        $CLI train --model lenet5 --epochs 3 --backend cuda --precision $prec --no-progress \
          --out "$OUT/lenet5-$prec" > "$OUT/train-lenet5-cuda-$prec.txt" 2>&1
        phase "train lenet5 $prec" $?
      done
      timeout 330 $CLI train --model resnet20 --data fashion-mnist --augment --epochs 20 --batch 128 \
        --optimizer sgd --lr 0.1 --momentum 0.9 --weight-decay 5e-4 --schedule cosine --backend cuda \
        --precision tf32 --no-progress --out "$OUT/resnet20" > "$OUT/train-resnet20-cuda.txt" 2>&1
      phase "train resnet20" $? ;;
    race)
      $CLI bench --backend cuda,cpu --repeats 5 > "$OUT/bench-lenet5.txt" 2>&1; phase bench $?
      python3 bench/race.py --kernels --cnn4j "$CLI" > "$OUT/race.md" 2>&1; phase race $? ;;
    *) echo "unknown phase $p (tests, memcheck, racecheck, train, race)" >&2; exit 2 ;;
  esac
done
