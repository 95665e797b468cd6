#!/usr/bin/env python3
"""Generate the model runtime's golden fixtures with llama.cpp (through llama-cpp-python).

Usage:  .venv-ref/bin/python tools/make_model_fixtures.py models/SmolLM2-135M-Instruct.Q4_1.gguf

Writes into Tests/TandemModelTests/Fixtures/:
  tokenizer.json  token ids of a varied corpus, with and without special-token parsing
  logits.json     for a few prompts, logits at every prompt position (the top 32 and every
                  61st vocabulary entry, to keep the file small)
  (llama.cpp runs with an F32 KV cache and without flash attention, its exact-math setting)
  greedy.json     greedy 32-token continuations of 12 prompts, with the gap between the top two
                  logits at every step (tests compare only up to the first near-tie)

`make bench-deps` installs llama-cpp-python into .venv-ref (it builds llama.cpp from source).
"""
import json
import os
import sys

import llama_cpp
import numpy as np

CORPUS = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "It's a dog's life, isn't it? They'll say we've done what I'd do.",
    "   leading spaces and trailing spaces   ",
    "tabs\tand\nnewlines\n\n\nand\r\nwindows line ends",
    "Numbers: 0 7 42 1234567890 3.14159 -17 1e-5 2024-11-28 12:34:56 $1,000.00",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
    "for (int i = 0; i < 10; ++i) { printf(\"%d\\n\", i); }",
    "{\"key\": [1, 2, 3], \"nested\": {\"a\": null, \"b\": true}}",
    "https://example.com/path?query=1&other=two#fragment",
    "Café naïve résumé façade jalapeño Ångström Zürich",
    "Ελληνικά, Русский текст, العربية, עברית, हिन्दी",
    "日本語のテキストと中文文本和한국어",
    "Emoji: 🎉🚀👍🏽 👨‍👩‍👧‍👦 ❤️ 🇫🇷",
    "Combining: e\u0301 a\u0308 n\u0303",
    "MiXeD CaSe WORDS and ALLCAPS and lowercase",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi there!<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>text after end<|im_end|>",
    "Punctuation!!! ??? ... --- *** ### @@@ ~~~ ``` '''",
    "a" * 50 + " " + "ab" * 20,
    "          ten spaces then text",
    "line one\n  indented line\n\ttabbed line\n",
    "Mr. O'Neil's co-worker—an e-mail expert—said “quotes” and ‘single’ ones.",
    "SELECT id, name FROM users WHERE age >= 21 ORDER BY name DESC;",
    "x=1;y=2;z=x+y*3/4-5%6",
    "",
    " ",
    "\n",
]

LOGIT_PROMPTS = [
    "The capital of France is Paris, and the capital of Germany is",
    "<|im_start|>user\nWrite a haiku about the sea.<|im_end|>\n<|im_start|>assistant\n",
    "def add(a, b):\n    return",
]

GREEDY_PROMPTS = [
    "Once upon a time",
    "The three primary colors are",
    "def is_prime(n):",
    "The capital of Japan is",
    "Water boils at",
    "<|im_start|>user\nWhat is the tallest mountain in the world?<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>user\nGive me three tips for learning to program.<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>user\nTranslate 'good morning' into French.<|im_end|>\n<|im_start|>assistant\n",
    "1, 2, 3, 4, 5,",
    "import numpy as np\n",
    "The best way to make coffee is",
    "In 1969, the first humans",
]

STEPS = 32
SUBSAMPLE = 61
TOP = 32


def main():
    model_path = sys.argv[1]
    out_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "Tests", "TandemModelTests", "Fixtures")
    os.makedirs(out_dir, exist_ok=True)
    # F32 keys and values and no flash attention: the exact-math configuration of llama.cpp.
    # (Its default F16 KV cache alone moves this model's logits by an NMSE of up to 2e-2.)
    llm = llama_cpp.Llama(model_path=model_path, n_ctx=1024, n_batch=512, logits_all=True, n_threads=2,
                          verbose=False, seed=0, type_k=0, type_v=0, flash_attn=False)
    reference = f"llama-cpp-python {llama_cpp.__version__}, F32 KV cache, no flash attention"

    tok = []
    for text in CORPUS:
        for special in (False, True):
            ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=special)
            tok.append({"text": text, "special": special, "ids": ids})
    write(out_dir, "tokenizer.json", {"reference": reference, "cases": tok})

    logit_cases = []
    for text in LOGIT_PROMPTS:
        ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        llm.reset()
        llm.eval(ids)
        scores = np.array(llm.scores[: len(ids)], dtype=np.float32)
        positions = []
        for i in range(len(ids)):
            row = scores[i]
            top = np.argsort(-row, kind="stable")[:TOP]
            sampled = np.arange(0, row.shape[0], SUBSAMPLE)
            positions.append({
                "top_ids": top.tolist(), "top_logits": [round(float(row[j]), 4) for j in top],
                "sampled_logits": [round(float(row[j]), 4) for j in sampled],
            })
        logit_cases.append({"prompt_ids": ids, "subsample_stride": SUBSAMPLE, "positions": positions})
    write(out_dir, "logits.json", {"reference": reference, "cases": logit_cases})

    greedy = []
    for text in GREEDY_PROMPTS:
        ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        llm.reset()
        llm.eval(ids)
        out, gaps = [], []
        for _ in range(STEPS):
            row = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
            order = np.argsort(-row, kind="stable")[:2]
            gaps.append(round(float(row[order[0]] - row[order[1]]), 4))
            nxt = int(order[0])
            out.append(nxt)
            llm.eval([nxt])
        greedy.append({"prompt": text, "prompt_ids": ids, "tokens": out, "top2_gaps": gaps})
    write(out_dir, "greedy.json", {"reference": reference, "steps": STEPS, "cases": greedy})


def write(out_dir, name, obj):
    path = os.path.join(out_dir, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
