#!/bin/bash
# A worker killed on a Spark standalone cluster: the example job (FashionMnistJob, LeNet-5)
# runs twice on a cluster of one master and one worker started on this machine from the Maven
# jars: once with one executor JVM killed (SIGKILL) as soon as the first checkpoint exists,
# once uninterrupted. Prints what Spark did, where the retried tasks resumed, whether the two
# model files are identical, and the killed run's test accuracy.
#
#   bench/spark/kill-standalone.sh [IMAGES=16384] [EPOCHS=2]
#
# Needs the build (mvn -B -q -DskipTests install) and Fashion-MNIST in $CNN4J_DATA or
# /usr/share/datasets/fashion-mnist. Two executors of one core each; a checkpoint every 100
# steps (FashionMnistJob).
set -euo pipefail
cd "$(dirname "$0")/../.."
IMAGES=${1:-16384}
EPOCHS=${2:-2}
DATA=${CNN4J_DATA:-/usr/share/datasets/fashion-mnist}
JOB=$(ls modules/spark/target/cnn4j-spark-*.jar | grep -v -E 'sources|javadoc' | head -1)
[ -f target/cnn4j.jar ] && [ -n "$JOB" ] || { echo "build first: mvn -B -q -DskipTests install" >&2; exit 2; }
W=$(mktemp -d /tmp/cnn4j-spark-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# Spark's jars (the module's provided dependencies) as a SPARK_HOME for the worker's executors.
mvn -B -q -Dstyle.color=never -pl modules/spark dependency:build-classpath -Dmdep.includeScope=provided -Dmdep.outputFile="$W/cp.txt" >/dev/null
CP=$(tr ':' '\n' < "$W/cp.txt" | grep -v cnn4j | paste -sd:)
mkdir -p "$W/home/jars" "$W/work"
tr ':' '\n' <<< "$CP" | while read -r j; do ln -s "$j" "$W/home/jars/"; done
echo "Spark (jars from Maven Central)" > "$W/home/RELEASE"
export SPARK_HOME="$W/home" SPARK_SCALA_VERSION=2.13
# Java 17's --add-opens for Spark, as modules/spark/pom.xml lists them.
OPENS=$(sed -n '/<spark.opens>/,/<\/spark.opens>/p' modules/spark/pom.xml | sed 's/<[^>]*>//g' | tr -s ' \n' ' ')

java $OPENS -cp "$CP" org.apache.spark.deploy.master.Master --host 127.0.0.1 --port 7077 --webui-port 18080 \
  > "$W/master.log" 2>&1 &
PIDS+=($!)
sleep 6
java $OPENS -cp "$CP" org.apache.spark.deploy.worker.Worker spark://127.0.0.1:7077 --cores 2 --memory 8g \
  --work-dir "$W/work" --webui-port 18081 > "$W/worker.log" 2>&1 &
PIDS+=($!)
sleep 6

# run NAME KILL: the job with checkpoints in $W/NAME-ck, the model in $W/NAME.safetensors
run() {
  local name=$1 kill=$2
  java $OPENS -cp "$CP" org.apache.spark.deploy.SparkSubmit --master spark://127.0.0.1:7077 \
    --total-executor-cores 2 --executor-cores 1 --executor-memory 2g \
    --conf spark.executor.extraJavaOptions="$OPENS" --conf spark.driver.host=127.0.0.1 \
    --class org.cnn4j.spark.FashionMnistJob --jars "$(ls target/lib/*.jar | tr '\n' ,)" "$JOB" \
    "$DATA" 2 "$EPOCHS" "$W/$name.safetensors" "$IMAGES" "$W/$name-ck" > "$W/$name-submit.log" 2>&1 &
  local submit=$!
  if [ "$kill" = yes ]; then
    for _ in $(seq 1 1200); do
      ls "$W/$name-ck"/checkpoint-*.safetensors >/dev/null 2>&1 && break
      sleep 0.5
    done
    local victim
    victim=$(pgrep -f CoarseGrainedExecutorBackend | head -1)
    echo "$name: checkpoints when the executor JVM $victim is killed: $(ls "$W/$name-ck" | tr '\n' ' ')"
    kill -9 "$victim"
  fi
  wait "$submit"
  echo "$name: job exit status $?; $(grep -h 'trained lenet5' "$W/$name-submit.log")"
  grep -h -E "Lost executor|Resubmitting ShuffleMapStage" "$W/$name-submit.log" | sed "s/^/$name: spark: /" | cut -c1-200 || true
}
run killed yes
grep -rh "cnn4j-spark: rank" "$W/work" | sed 's/^/killed: executor log: /' || true
run whole no
if cmp -s "$W/killed.safetensors" "$W/whole.safetensors"; then
  echo "the killed run's model file is the uninterrupted run's, byte for byte"
else
  echo "the model files differ"
fi
java -cp "target/cnn4j.jar:target/lib/*" org.cnn4j.cli.Main eval --model-file "$W/killed.safetensors" \
  --data-dir "$DATA" --threads 2 | tail -1
echo "logs: $W"
