#!/usr/bin/env bash
# Runs the whole test suite with libcnn4j and its JNI glue built with AddressSanitizer and
# UndefinedBehaviorSanitizer (CMake option CNN4J_SANITIZE, Maven profile "sanitize"). The
# sanitizer runtimes are preloaded into the test JVM only; the JVM's own SIGSEGV handling
# stays with the JVM (handle_segv=0) and leak detection is off (the JVM never frees its
# arenas). Any report stops the run (halt_on_error=1). Usage: tests/sanitize.sh [mvn args]
set -euo pipefail
cd "$(dirname "$0")/.."
asan="$(c++ -print-file-name=libasan.so)"
ubsan="$(c++ -print-file-name=libubsan.so)"
[ -f "$asan" ] && [ -f "$ubsan" ] || { echo "libasan/libubsan not found (apt-get install g++)" >&2; exit 1; }
mvn -B -Dstyle.color=never clean verify -Dcnn4j.sanitize=ON -Dcnn4j.sanitize.preload="$asan $ubsan" "$@"
status=$?
# Leave a normal build behind.
echo "sanitized test run finished with status $status; run 'mvn clean package' for a normal build" >&2
exit $status
