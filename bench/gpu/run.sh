#!/usr/bin/env bash
# Runs on the GPU machine, from the repository root, after bench/gpu/prepare.sh here.
# One phase per call (a call may run 10 minutes at most); logs and results go to $OUT.
#   mma       the first step: the hardware's cvt.rna.tf32.f32 and mma.sync.m16n8k8 against
#             the simulated device's (bench/gpu/mma_check.cu built with nvcc writes
#             $OUT/mma-hw.txt; mma_check_host.cpp, built with g++ against native/cuda/sim,
#             compares it); needs only the source. Where no GPU answers (nvidia-smi -L), a dry
#             run: mma_check.cu compiled if nvcc is there, the comparer on the simulator's own
#             results ($OUT/mma-sim.txt)
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
# Sets MMA_WHAT to what it compared; returns the comparer's verdict (0: pass).
mma_check() {
  local b rc gpu=0
  MMA_WHAT="dry run, no GPU: the simulator against itself"
  if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then PATH="$PATH:/usr/local/cuda/bin"; fi
  if command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then gpu=1; fi
  b=$(mktemp -d) || return 1
  if command -v nvcc >/dev/null; then
    echo "+ nvcc -arch=sm_90 -O2 -o mma_check bench/gpu/mma_check.cu"
    nvcc -arch=sm_90 -O2 -o "$b/mma_check" bench/gpu/mma_check.cu || { rm -rf "$b"; return 1; }
  elif [ $gpu = 1 ]; then
    echo "nvcc not found"; rm -rf "$b"; return 1
  fi
  if [ $gpu = 1 ]; then
    MMA_WHAT="hardware against the simulator"
    echo "+ mma_check $OUT/mma-hw.txt"
    "$b/mma_check" "$OUT/mma-hw.txt" || { rm -rf "$b"; return 1; }
  fi
  echo "+ g++ -std=c++17 -O2 -I native/cuda/sim bench/gpu/mma_check_host.cpp native/cuda/sim/sim.cpp -lpthread -o mma_check_host"
  if ! g++ -std=c++17 -O2 -I native/cuda/sim bench/gpu/mma_check_host.cpp native/cuda/sim/sim.cpp -lpthread \
       -o "$b/mma_check_host"; then
    [ $gpu = 1 ] && echo "the comparer does not build here ($(uname -m)); $OUT/mma-hw.txt comes back: compare it" \
      "on an x86-64 machine with mma_check_host mma-hw.txt (bench/gpu/README.md)"
    rm -rf "$b"; return 1
  fi
  if [ $gpu = 1 ]; then
    "$b/mma_check_host" "$OUT/mma-hw.txt"; rc=$?
  else
    "$b/mma_check_host" --self-test "$OUT/mma-sim.txt"; rc=$?
  fi
  rm -rf "$b"
  return $rc
}
for p in "${@:-tests}"; do
  case "$p" in
    mma) mma_check > "$OUT/mma-check.txt" 2>&1; rc=$?; phase "mma ($MMA_WHAT)" $rc ;;
    tests) suites > "$OUT/gpu-tests.txt" 2>&1; phase tests $? ;;
    memcheck)
      suites compute-sanitizer --tool memcheck --leak-check full --target-processes all > "$OUT/memcheck.txt" 2>&1
      rc=$?; phase "memcheck ($(grep -c 'ERROR SUMMARY: 0 errors' "$OUT/memcheck.txt") clean summaries)" $rc ;;
    racecheck)
      suites compute-sanitizer --tool racecheck --target-processes all > "$OUT/racecheck.txt" 2>&1
      rc=$?; phase "racecheck ($(grep -c 'RACECHECK SUMMARY: 0 hazards' "$OUT/racecheck.txt") clean summaries)" $rc ;;
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
    *) echo "unknown phase $p (mma, tests, memcheck, racecheck, train, race)" >&2; exit 2 ;;
  esac
done
