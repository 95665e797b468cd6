#!/usr/bin/env python3
"""llama.cpp's side of `tandem bench model`: the same measurements on the same GGUF file.

Run by `tandem bench model` with the Python of .venv-ref (see `make bench-deps`):
  pp<N>:   one batch of N prompt tokens
  tg<N>:   N single-token decode steps
  batched: S sequences decoding together (one llama_decode per step), aggregate tokens/s
"""
import argparse
import ctypes
import os
import time

import llama_cpp
import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompt-tokens", type=int, default=512)
    ap.add_argument("--decode-tokens", type=int, default=128)
    ap.add_argument("--batch-sizes", default="1,4,16,32")
    ap.add_argument("--batch-steps", type=int, default=32)
    a = ap.parse_args()

    before = resident()
    llm = llama_cpp.Llama(model_path=a.model, n_ctx=a.prompt_tokens + a.decode_tokens + 64, n_batch=a.prompt_tokens,
                          n_threads=a.threads, n_threads_batch=a.threads, verbose=False)
    text = "The quick brown fox jumps over the lazy dog while the river keeps running to the sea. " * 64
    prompt = llm.tokenize(text.encode(), add_bos=False)[: a.prompt_tokens]
    llm.reset(); llm.eval(prompt[:64])
    best = None
    for _ in range(2):
        llm.reset()
        t = time.perf_counter(); llm.eval(prompt); dt = time.perf_counter() - t
        best = dt if best is None else min(best, dt)
    print(f"llama.cpp pp{len(prompt)}: {len(prompt) / best:7.1f} tok/s")

    n_vocab = llm.n_vocab()

    def last_argmax():
        # Without logits_all, llm.scores is not filled: read the context's last logits directly.
        ptr = llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1)
        return int(np.argmax(np.ctypeslib.as_array(ptr, shape=(n_vocab,))))

    llm.reset()
    llm.eval(prompt[:16])
    tok = last_argmax()
    t = time.perf_counter()
    for _ in range(a.decode_tokens):
        llm.eval([tok])
        tok = last_argmax()
    dt = time.perf_counter() - t
    print(f"llama.cpp tg{a.decode_tokens}: {a.decode_tokens / dt:7.1f} tok/s")
    # Its KV cache is f16 and sized for the whole context (n_ctx positions), allocated at load.
    after = resident()
    kv_bytes = llama_cpp.llama_n_ctx(llm._ctx.ctx) * int(llm.metadata["llama.block_count"]) * 2 * kv_dimension(llm) * 2
    print("llama.cpp memory after tg: RSS %.1f MB = anonymous %.1f + file %.1f" % after)
    print("llama.cpp memory the model added (after tg minus before loading): %.1f MB = anonymous %.1f + file %.1f; file + KV cache (f16, %d positions) = %.1f MB"
          % (tuple(x - y for x, y in zip(after, before)) + (llama_cpp.llama_n_ctx(llm._ctx.ctx), (os.path.getsize(a.model) + kv_bytes) / 1e6)))

    sizes = [int(s) for s in a.batch_sizes.split(",") if s]
    for n in sizes:
        try:
            print(f"llama.cpp batched decode {n:2d} seq: {batched(llm, a, n, prompt[:16]):7.1f} tok/s aggregate")
        except Exception as e:  # the low-level API moves between versions
            print(f"llama.cpp batched decode {n:2d} seq: skipped ({e})")


def resident():
    """(RSS, anonymous, file-backed) in MB of 10^6 bytes, from /proc/self/status."""
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                fields[parts[0].rstrip(":")] = int(parts[1]) * 1024 / 1e6
    return fields.get("VmRSS", 0.0), fields.get("RssAnon", 0.0), fields.get("RssFile", 0.0)


def kv_dimension(llm):
    m = llm.metadata  # values as strings
    return int(m["llama.embedding_length"]) // int(m["llama.attention.head_count"]) * int(m["llama.attention.head_count_kv"])


def batched(llm, a, n, prompt):
    model = llm._model.model
    p = llama_cpp.llama_context_default_params()
    p.n_ctx = n * (len(prompt) + a.batch_steps + 8) + 64
    p.n_batch = max(n * len(prompt), 512)
    p.n_ubatch = 512
    p.n_threads = a.threads
    p.n_threads_batch = a.threads
    p.n_seq_max = n
    make = getattr(llama_cpp, "llama_init_from_model", None) or llama_cpp.llama_new_context_with_model
    ctx = make(model, p)
    vocab = llama_cpp.llama_n_vocab(llama_cpp.llama_model_get_vocab(model)) if hasattr(llama_cpp, "llama_model_get_vocab") else llama_cpp.llama_n_vocab(model)
    batch = llama_cpp.llama_batch_init(max(n * len(prompt), n), 0, n)

    def fill(entries):
        batch.n_tokens = len(entries)
        for i, (token, pos, seq, want) in enumerate(entries):
            batch.token[i] = token
            batch.pos[i] = pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = seq
            batch.logits[i] = want
        if llama_cpp.llama_decode(ctx, batch) != 0:
            raise RuntimeError("llama_decode failed")

    def argmax(i):
        ptr = llama_cpp.llama_get_logits_ith(ctx, i)
        return int(np.argmax(np.ctypeslib.as_array(ptr, shape=(vocab,))))

    entries = []
    for s in range(n):
        for j, t in enumerate(prompt):
            entries.append((t, j, s, j == len(prompt) - 1))
    fill(entries)
    nxt = [argmax((s + 1) * len(prompt) - 1) for s in range(n)]
    t0 = time.perf_counter()
    for step in range(a.batch_steps):
        fill([(nxt[s], len(prompt) + step, s, True) for s in range(n)])
        nxt = [argmax(s) for s in range(n)]
    dt = time.perf_counter() - t0
    llama_cpp.llama_batch_free(batch)
    llama_cpp.llama_free(ctx)
    return n * a.batch_steps / dt


if __name__ == "__main__":
    main()
