#!/usr/bin/env bash
# Runs on the GPU machine, from the repository root, after bench/gpu/prepare.sh here:
#   GPU parity and gradient-check tests (a missing GPU fails them), compute-sanitizer
#   memcheck and racecheck on the parity suite, LeNet-5 training on Fashion-MNIST when the
#   data is present, and the PyTorch race. Logs and results go to $OUT.
set -uo pipefail
OUT="${OUT:-out}"
mkdir -p "$OUT"
J=.device/jre/bin/java
CP=".device/cnn4j.jar:.device/lib/*"
TCP=".device/test-classes:$CP:.device/testlib/*"
LAUNCH=".device/junit-platform-console-standalone-1.10.2.jar"
{ nvidia-smi; nvcc --version; python3 -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda)'; } \
  > "$OUT/machine.txt" 2>&1
tests() {
  "$@" $J -Dcnn4j.expectGpu=true -Dcnn4j.expectNative=true -jar "$LAUNCH" execute -cp "$TCP" \
    --select-class org.cnn4j.backend.CudaParityTest --select-class org.cnn4j.nn.CudaGradientCheckTest \
    --details=summary --disable-banner
}
tests > "$OUT/gpu-tests.txt" 2>&1; echo "gpu tests: exit $?" | tee -a "$OUT/summary.txt"
tests compute-sanitizer --tool memcheck --target-processes all > "$OUT/memcheck.txt" 2>&1
echo "memcheck: exit $? ($(grep -c 'ERROR SUMMARY: 0 errors' "$OUT/memcheck.txt") clean summaries)" | tee -a "$OUT/summary.txt"
tests compute-sanitizer --tool racecheck --target-processes all > "$OUT/racecheck.txt" 2>&1
echo "racecheck: exit $?" | tee -a "$OUT/summary.txt"
$J -cp "$CP" org.cnn4j.cli.Main bench --backend cuda,cpu --repeats 5 > "$OUT/bench-lenet5.txt" 2>&1
python3 bench/race.py --cnn4j "$J -cp $CP org.cnn4j.cli.Main" > "$OUT/race.md" 2>&1
echo "race: exit $?" | tee -a "$OUT/summary.txt"
