#!/usr/bin/env bash
# Issue 11's bar, measured side by side: `bench serve` against `ultrakv serve` (HTTP + SSE, the client in another
# JVM) and `bench throughput-curve` (the engine in process), on the same model file, at the same concurrency,
# prompt length and generated tokens, alternating rounds so that the machine's noise falls on both.
#   tools/http-vs-in-process.sh MODEL.gguf [ROUNDS] [OUT_DIR]
# Prints, per round, tokens/s and TTFT/TPOT medians of both paths; bench serve's own reports stay in OUT_DIR.
set -euo pipefail
model="${1:?usage: tools/http-vs-in-process.sh MODEL.gguf [ROUNDS] [OUT_DIR]}"
rounds="${2:-3}"
out="${3:-bench-results/http-vs-in-process-$(date -u +%Y%m%dT%H%M%SZ)}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ultrakv="$root/ultrakv"
port="${PORT:-18190}"
levels="${LEVELS:-1,32}"
# 128 requests a level: at c = 32 that is four waves, where 64 (two) left the figure to the first wave's ramp-up.
requests="${REQUESTS:-128}"
# Unmeasured requests at c = 32 first. 256 (8,192 streamed chunks): with 64 (2,048) the server's per-chunk path (JSON,
# SSE, Jetty) was still compiling during the measured levels, well short of C2's 10,000 calls, while the in-process
# path has no such per-chunk code to compile.
warmup="${WARMUP:-256}"
prompt_tokens=40      # what --prompt-words 24 of bench serve's random workload tokenizes to with llama's vocabulary
new_tokens=32
mkdir -p "$out"

server=""
stop_server() { if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=""; fi; }
trap stop_server EXIT

for round in $(seq 1 "$rounds"); do
  echo "== round $round: HTTP"
  "$ultrakv" serve --model "$model" --port "$port" >"$out/serve-$round.log" 2>&1 &
  server=$!
  for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 1; done
  # The client warms both JVMs first, with prompts of its own, so nothing measured is a cache hit.
  "$ultrakv" bench serve --url "http://127.0.0.1:$port" --concurrency "$levels" --requests "$requests" --warmup-requests "$warmup" \
      --max-tokens "$new_tokens" --prompt-words 24 --stream --temperature 0 --ignore-eos --seed $((100 + round)) \
      --out "$out/http-$round" 2>/dev/null | grep -E '^ +[0-9]+ ' || true
  stop_server
  echo "== round $round: in process"
  "$ultrakv" bench throughput-curve --model "$model" --concurrency "$levels" --prompt-tokens "$prompt_tokens" \
      --new-tokens "$new_tokens" --requests "$requests" --seed $((100 + round)) 2>/dev/null | grep -E '^\| [0-9]' || true
done
