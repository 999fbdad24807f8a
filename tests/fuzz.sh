#!/usr/bin/env bash
# Fuzzes the readers with Jazzer (jazzer-junit): IDX, CIFAR-10 and image files
# (org.cnn4j.data.DataReadersFuzzTest), safetensors files and architecture JSON
# (org.cnn4j.io.ModelFileFuzzTest). Each target fuzzes 30 s per round in a JVM of its own
# (Jazzer fuzzes one target per run), starting from its seeds (tests/resources/.../*Inputs) and
# from what earlier rounds found (.cifuzz-corpus/). A target may refuse an input only with a
# DataFormatException; any other exception, a stack or memory exhaustion, or a hang is a finding,
# which fails the run and is printed with its input.
#
# Usage: tests/fuzz.sh [ROUNDS] [TARGET...]   (default: 1 round of every target; CI runs this)
#   e.g. tests/fuzz.sh 20 idx safetensors     ten minutes each for two targets
# Needs the test classes: run ./cnn4j test (or mvn test-compile) first.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-1}"
shift || true
declare -A class=([idx]=org.cnn4j.data.DataReadersFuzzTest [cifar10]=org.cnn4j.data.DataReadersFuzzTest
                  [image]=org.cnn4j.data.DataReadersFuzzTest [safetensors]=org.cnn4j.io.ModelFileFuzzTest
                  [architecture]=org.cnn4j.io.ModelFileFuzzTest)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(idx cifar10 image safetensors architecture)
mkdir -p target/fuzz
summary=()
failed=0
for t in "${targets[@]}"; do
  [ -n "${class[$t]:-}" ] || { echo "fuzz.sh: unknown target '$t' (${!class[*]})" >&2; exit 2; }
  runs=0
  for ((r = 1; r <= rounds; r++)); do
    log="target/fuzz/$t-$r.log"
    rc=0
    JAZZER_FUZZ=1 mvn -B -Dstyle.color=never -Dcnn4j.cuda="${CNN4J_CUDA:-SIM}" -Dtest="${class[$t]}#$t" \
      -Dsurefire.failIfNoSpecifiedTests=false -pl modules/cli -am test-compile surefire:test > "$log" 2>&1 || rc=$?
    n=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
    runs=$((runs + ${n:-0}))
    if [ "$rc" -ne 0 ]; then
      failed=1
      echo "== $t round $r: FINDING or failure (exit $rc); $log:"
      grep -E "==[0-9]+== |Exception|Error|crash-|reproducer|Caused by" "$log" | head -30
      break
    fi
  done
  verdict=""
  if [ "$rc" -ne 0 ]; then verdict=", FAILED"; fi
  summary+=("$t: $runs executions in $rounds x 30 s$verdict")
done
echo "== fuzz summary"
for s in "${summary[@]}"; do echo "   $s"; done
if [ "$failed" -ne 0 ]; then
  echo "fuzz: FINDINGS"
  exit 1
fi
echo "fuzz: no findings"
