"""llama.cpp's prompt-lookup decoding on the workload of `tandem bench generate --speculative`.

Reads {"model", "threads", "max_tokens", "prompts": [[token ids], ...]} as JSON on stdin, runs every
prompt greedily with and without `LlamaPromptLookupDecoding` (interleaved, one stream at a time,
the prompts given as token ids so both engines see the same input), and prints one JSON object:
{"plain": {"tokens", "seconds"}, "lookup": {"tokens", "seconds"}} (wall time from the call to the
last token, prompt processing included).
"""
import json
import sys
import time

from llama_cpp import Llama
from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

job = json.load(sys.stdin)
common = dict(model_path=job["model"], n_ctx=1024, n_threads=job["threads"], n_threads_batch=job["threads"],
              n_batch=1024, verbose=False, seed=0)
engines = {
    "plain": Llama(**common),
    "lookup": Llama(**common, draft_model=LlamaPromptLookupDecoding(max_ngram_size=3, num_pred_tokens=10)),
}
totals = {name: {"tokens": 0, "seconds": 0.0} for name in engines}
for ids in job["prompts"]:
    for name, llm in engines.items():
        llm.reset()
        start = time.perf_counter()
        out = llm.create_completion(prompt=ids, max_tokens=job["max_tokens"], temperature=0.0, top_k=1)
        totals[name]["seconds"] += time.perf_counter() - start
        totals[name]["tokens"] += out["usage"]["completion_tokens"]
print(json.dumps(totals))
