#!/usr/bin/env bash
# Checks every op of cnn4j.h through a CUDA context on cnn4j's simulated device (CNN4J_CUDA=SIM,
# native/cuda/sim) against the same op through a CPU context: builds the driver native/tests/sim_kernels.cpp
# (target cnn4j_sim_kernels) three ways and runs it:
#   plain    the kernels as built for use (RelWithDebInfo), threads in index order (seed 0) and
#            in an order drawn from seed 3; and native/tests/sim_limits.cpp: the simulator's
#            launch limits and its fault on threads that diverge at __syncthreads
#   address  AddressSanitizer + UndefinedBehaviorSanitizer (CNN4J_SANITIZE=ON): out-of-bounds
#            and use-after-free accesses of kernels and runtime, leaks, undefined behaviour;
#            seed 0 and seed 3
#   thread   ThreadSanitizer (CNN4J_SANITIZE=THREAD): data races between the simulated threads
#            of a block (only barriers synchronise them) and between the host threads, seed 0
#            and seed 7
# Any sanitizer report stops its run (halt_on_error); the driver itself fails on a result that
# differs from the CPU's and on a device allocation it did not free. No GPU and no Maven needed.
#
# Usage: tests/sanitize-sim.sh [plain|address|thread]...   (default: all three, in that order)
#   CNN4J_JOBS   build parallelism (default 2)
# Builds go to target/sim-sanitize/{plain,address,thread}. Exit status 0 when every run passed.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

flavours=("$@")
if [ ${#flavours[@]} -eq 0 ]; then flavours=(plain address thread); fi
for f in "${flavours[@]}"; do
  case "$f" in
    plain | address | thread) ;;
    -h | --help) usage ;;
    *) echo "sanitize-sim.sh: unknown flavour '$f' (plain, address or thread)" >&2; usage ;;
  esac
done

jobs="${CNN4J_JOBS:-2}"
summary=()
failed=0

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# build FLAVOUR SANITIZE: configures and builds target/sim-sanitize/FLAVOUR; sets $driver.
driver=""
build() {
  local flavour="$1" sanitize="$2" dir="target/sim-sanitize/$1" t0
  t0="$(now)"
  echo "== build $flavour (CNN4J_SANITIZE=$sanitize) in $dir"
  cmake -S . -B "$dir" -DCNN4J_CUDA=SIM -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCNN4J_SANITIZE="$sanitize"
  cmake --build "$dir" --parallel "$jobs" --target cnn4j_sim_kernels
  summary+=("built $flavour in $(elapsed "$t0" "$(now)") s")
  driver="$dir/cnn4j_sim_kernels"
}

# run LABEL DRIVER SEED [VAR=VALUE...]: runs the driver, records PASS or FAIL with the time.
run() {
  local label="$1" driver="$2" seed="$3" t0 rc=0 line
  shift 3
  echo "== run $label: seed $seed${*:+ ($*)}"
  t0="$(now)"
  env "$@" "$driver" --seed "$seed" || rc=$?
  line="$label seed $seed: $(elapsed "$t0" "$(now)") s"
  if [ "$rc" -eq 0 ]; then
    summary+=("PASS $line")
  else
    if [ "$rc" -gt 128 ]; then line="$line (exit status $rc: killed by signal $((rc - 128)))"; else line="$line (exit status $rc)"; fi
    summary+=("FAIL $line")
    failed=1
  fi
  echo "== $label seed $seed: exit status $rc"
}

for f in "${flavours[@]}"; do
  case "$f" in
    plain)
      build plain OFF
      run plain "$driver" 0
      run plain "$driver" 3
      # the simulator's launch limits and its fault on threads that diverge at a barrier
      cmake --build target/sim-sanitize/plain --parallel "$jobs" --target cnn4j_sim_limits
      if target/sim-sanitize/plain/cnn4j_sim_limits > target/sim-sanitize/plain/sim_limits.log 2>&1; then
        summary+=("PASS simulator limits and faults (sim_limits)")
      else
        cat target/sim-sanitize/plain/sim_limits.log
        summary+=("FAIL simulator limits and faults (sim_limits)")
        failed=1
      fi
      ;;
    address)
      build address ON
      for seed in 0 3; do
        run "address+undefined" "$driver" "$seed" ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 \
          UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
      done
      ;;
    thread)
      build thread THREAD
      run thread "$driver" 0 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
      run thread "$driver" 7 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
      ;;
  esac
done

echo
echo "== sanitize-sim summary"
for s in "${summary[@]}"; do echo "   $s"; done
if [ "$failed" -ne 0 ]; then
  echo "sanitize-sim: FAILED"
  exit 1
fi
echo "sanitize-sim: all runs passed"
