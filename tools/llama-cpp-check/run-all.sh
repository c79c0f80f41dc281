#!/usr/bin/env bash
# Every check of README.md, in order; synthetic models go to out/ (ignored). Run from anywhere:
#   tools/llama-cpp-check/run-all.sh 2>&1 | tee tools/llama-cpp-check/out/results.txt
# Exits non-zero if any comparison differs (all comparisons still run).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
real="${REAL_MODEL:-$root/models/stories260K.gguf}"
out="$here/out"
mkdir -p "$out"
cd "$here"
status=0
check() { echo "\$ node compare.mjs $*" | sed "s|$out/||; s|$root/||"; node compare.mjs "$@" || status=1; }

prompts=("Once upon a time" "Hello world" "  two leading spaces" "Hi!! What's up?? (yes), no; maybe: 'ok'."
         'line one\nline two\n\nend' 'tab\there' "café naïve 日本語 🙂 Ünïcödé" "12345 67.89" "")

echo "== 1. tokenization, stories260K"
check tokenize "$real" "${prompts[@]}"

echo "== 2. greedy generation, stories260K, 200 (and 500) tokens, context 512, F32 KV"
check generate "$real" 200 512 "Once upon a time" "Lily and Ben went to the park" 'The cat sat on the mat.\nThe dog' \
      "One day, a little" "Tom had a big red ball. He" ""
check generate "$real" 500 512 "Once upon a time"   # nearly the whole 512 context

echo "== 3. synthetic models: llama.cpp loads them, tokenizes like us, generates like us"
for shape in test-tiny test-small llama-110m; do
  for dtype in f32 f16 bf16 q8_0 q4_0; do
    file="$out/$shape-$dtype.gguf"
    [ -f "$file" ] || "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector -cp "$root/engine/target/classes" \
        "$here/OurTokens.java" synth "$shape" "$dtype" 7 "$file" 2>/dev/null
    [ "$dtype" = f32 ] && check tokenize "$file" "${prompts[@]}"
    if [ "$shape" = llama-110m ]; then n=48; else n=100; fi
    check generate "$file" "$n" 128 "once upon a time the little dog" "Hello, world!\nthe end" ""
  done
done
echo "== 4. the CLI itself: ./ultrakv generate prints the prompt and llama.cpp's greedy continuation"
for prompt in "Once upon a time" "Tom had a big red ball. He" ""; do
  ours="$("$root/ultrakv" generate --model "$real" --prompt "$prompt" --max-tokens 200 --temperature 0 \
          --context-length 512 2>/dev/null)"
  theirs="$(node llama.mjs generate "$real" 200 512 "$prompt" | node -e \
          'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);process.stdout.write(r.prompt+r.text)})')"
  if [ "$ours" = "$theirs" ]; then echo "AGREE  ultrakv generate \"$prompt\": same text (${#ours} characters)"
  else echo "DIFFER ultrakv generate \"$prompt\":"; diff <(echo "$ours") <(echo "$theirs"); status=1; fi
done
exit $status
