#!/usr/bin/env bash
# Prepares what the GPU machine needs (it has nvcc, PyTorch and compute-sanitizer but no JDK
# or Maven): the jar built with CUDA (nvcc here compiles sm_90), its libraries, the test
# classes with JUnit's console launcher, and a small Java runtime made with jlink, all under
# .device/ (ignored by git; carried to the device, 64 MiB at most).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v nvcc >/dev/null || { echo "nvcc is needed to build the CUDA kernels" >&2; exit 1; }
# The GPU run's first step (run.sh mma), dry: mma_check.cu compiled with nvcc, the comparer
# built with g++ against the simulated device and run on the simulator's own results, so that
# a broken check fails here and not on the device's time (on a machine with a GPU, the check).
MMA_DRY="$(mktemp -d)"
OUT="$MMA_DRY" bench/gpu/run.sh mma >/dev/null
grep -q '^mma (.*): exit 0$' "$MMA_DRY/summary.txt" || {
  cat "$MMA_DRY/mma-check.txt" >&2; echo "the mma/cvt check fails (bench/gpu/run.sh mma)" >&2; exit 1; }
rm -rf "$MMA_DRY"
rm -rf .device && mkdir -p .device
# package and the test classpath in one run: the modules' artifacts resolve within it
mvn -B -q -Dstyle.color=never -DskipTests clean package dependency:copy-dependencies \
    -DincludeScope=test -DoutputDirectory="$PWD/.device/testlib"
cp target/cnn4j.jar .device/
cp -r target/lib .device/lib
cp -r target/test-classes .device/test-classes
mvn -B -q dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:1.10.2 \
    -DoutputDirectory="$PWD/.device" >/dev/null
# the test classpath without what lib/ already holds, and without Jazzer (8 MB; the GPU suites
# do not fuzz): .device must stay under the 64 MiB a call carries
for j in .device/lib/*.jar; do rm -f ".device/testlib/$(basename "$j")"; done
rm -f .device/testlib/jazzer*.jar
size=$(du -sb .device | cut -f1)
[ "$size" -lt $((64 * 1024 * 1024)) ] || { echo ".device holds $size bytes: more than the 64 MiB a call carries" >&2; exit 1; }
jlink --add-modules java.base,java.logging,jdk.unsupported,java.management,java.desktop \
      --strip-debug --no-header-files --no-man-pages --compress=2 --output .device/jre
# Fashion-MNIST (30 MB) travels in a call of its own: with .device it would pass the 64 MiB
# a call may carry.
DATA="${CNN4J_DATA:-/usr/share/datasets/fashion-mnist}"
if [ -d "$DATA" ]; then
  rm -rf .device-data && mkdir -p .device-data/fashion-mnist && cp "$DATA"/*-ubyte.gz .device-data/fashion-mnist/
fi
du -sh .device .device/* .device-data 2>/dev/null | sort -h
