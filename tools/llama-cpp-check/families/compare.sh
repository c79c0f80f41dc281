#!/usr/bin/env bash
# Greedy token ids of llama.cpp (llama-server) and UltraKV on synthetic F32 files of each family, 3 prompts x 32
# tokens; see docs/architectures.md.   usage: tools/llama-cpp-check/families/compare.sh [SHAPE...]
# Needs llama.cpp built at $LLAMA_CPP (default /work/llama.cpp) and cli/target/ultrakv.jar (./ultrakv builds it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
here="$root/tools/llama-cpp-check/families"
server="${LLAMA_CPP:-/work/llama.cpp}/build/bin/llama-server"
java="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java"
work="$(mktemp -d)"
port=8181
prompts=("Hello world" "The quick brown fox jumps over the lazy dog."
         "Once upon a time, there was a little girl named Lily. She loved to play")
for shape in "${@:-test-tiny test-llama3 test-qwen2 test-phi3}"; do
  for s in $shape; do
    "$root/ultrakv" synth --shape "$s" --dtype f32 --out "$work/$s.gguf" 2>/dev/null
    "$server" -m "$work/$s.gguf" --port $port -c 128 -t 2 -np 1 --no-warmup > "$work/$s.log" 2>&1 &
    pid=$!
    for _ in $(seq 60); do curl -s "localhost:$port/health" | grep -q ok && break; sleep 1; done
    : > "$work/cpp-$s"; : > "$work/ours-$s"
    for p in "${prompts[@]}"; do
      python3 "$here/server_greedy.py" $port "$p" 32 >> "$work/cpp-$s" 2>/dev/null || true
      "$java" --add-modules jdk.incubator.vector -cp "$root/cli/target/ultrakv.jar" "$here/GreedyIds.java" \
          "$work/$s.gguf" "$p" 32 2>/dev/null >> "$work/ours-$s"
    done
    kill $pid 2>/dev/null || true
    if [ "$(grep -c '^tokens \[[0-9]' "$work/cpp-$s")" = 3 ] && cmp -s "$work/cpp-$s" "$work/ours-$s"; then
      echo "$s: prompt ids and 3 x 32 greedy tokens equal"
    else
      echo "$s: DIFFERENT (llama.cpp <, UltraKV >; its log: $work/$s.log)"; diff "$work/cpp-$s" "$work/ours-$s" || true
    fi
  done
done
