#!/usr/bin/env bash
# The main job, run by `make demo`: bring the local stack up and show it serving.
# Each part runs when the pieces it needs exist, so the demo grows as the services land.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-.build/debug}
tandem="$bin/tandem"

echo "== tandem up (private PostgreSQL under .tandem/ unless TANDEM_DATABASE_URL is set)"
"$tandem" up

echo
echo "== an echo job, streamed through the router and committed to PostgreSQL"
job=$("$tandem" submit echo --params '{"text":"hello from Tandem","chunks":3,"delay_ms":150}')
"$tandem" wait "$job"
echo
"$tandem" job "$job"

echo
echo "== 200 jobs at once, then the queues"
for i in $(seq 1 200); do echo "$i"; done | while read -r i; do
  "$tandem" submit echo --params "{\"text\":\"job $i\",\"delay_ms\":20}" >/dev/null &
  if (( i % 50 == 0 )); then wait; fi
done
wait
sleep 1
"$tandem" queues
"$tandem" workers

echo
echo "== a render on the diffusion service: one glyph per character, DPM-Solver++ 2M, 10 steps"
"$tandem" render "TANDEM" --steps 10 --seed 7 --out tandem-demo.png
echo "(open tandem-demo.png)"

if [ -f models/SmolLM2-135M-Instruct.Q4_1.gguf ]; then
  echo
  echo "== a chat answer from SmolLM2-135M through the stack (router → tandem-decode, streamed as decoded)"
  "$tandem" generate --chat --max-tokens 64 "What is the capital of France? Answer in one sentence."
  echo
  echo "== four generations at once: tandem-decode batches them into one forward call per step"
  for prompt in "Name a fruit." "Name a color." "Name a planet." "Name an ocean."; do
    "$tandem" generate --chat --max-tokens 24 "$prompt" >"/tmp/tandem-demo-$$-${prompt// /_}.txt" 2>&1 &
  done
  wait
  for f in /tmp/tandem-demo-$$-*.txt; do sed 's/^/  /' "$f"; rm -f "$f"; done
  echo
  echo "== a long prompt (≥ 256 tokens): the router places it on tandem-prefill, whose KV blocks stream straight to tandem-decode over the data plane"
  long="$(for i in $(seq 1 24); do printf 'The quick brown fox jumps over the lazy dog near the river bank. '; done)"
  "$tandem" generate --chat --max-tokens 24 "${long}How many times is the fox mentioned, roughly?"
  echo
  echo "== speculative decoding with drafts from tandem-draft (prompt lookup), verified in tandem-decode's batch: the summary counts the draft worker's rounds"
  "$tandem" generate --chat --max-tokens 48 --speculative lookup "Repeat this text exactly: The mill by the bridge was built in 1821, burned in 1903, and rebuilt in brick the following year."
  echo
  echo "== the same chat answer in this process (tandem generate --local): the same tokens"
  "$tandem" generate --local --chat --max-tokens 64 "What is the capital of France? Answer in one sentence."
else
  echo
  echo "(no model: run \`$tandem models pull smollm2-135m\` to see generation through the stack)"
fi

echo
echo "The stack is still up: try \`$tandem submit echo --params '{\"text\":\"hi\"}' --wait\`,"
echo "\`$tandem generate --chat \"Tell me a joke\"\`, \`$tandem queues --watch\`, \`$tandem scale decode=2\`; stop it with \`$tandem down\`."
