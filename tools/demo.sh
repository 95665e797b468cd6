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
  echo "== a chat answer from SmolLM2-135M (in-process runtime; the prefill/decode services come next)"
  "$tandem" generate --local --chat --max-tokens 48 "What is the capital of France?"
fi

echo
echo "The stack is still up: try \`$tandem submit echo --params '{\"text\":\"hi\"}' --wait\`,"
echo "\`$tandem queues --watch\`, \`$tandem scale echo=3\`; stop it with \`$tandem down\`."
