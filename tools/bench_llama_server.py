#!/usr/bin/env python3
"""The llama.cpp server side of `tandem bench generate --llama-server`.

Starts llama-cpp-python's OpenAI-compatible server on the same GGUF with the same thread count,
then, per concurrency level, runs that many client threads that each stream greedy chat
completions of the same prompts back to back for DURATION seconds — the load `tandem bench
generate` puts on the Tandem stack. Prints one JSON line per level:
tokens, generations, tokens_per_second, TTFT and inter-token latency p50/p99.

llama-cpp-python's server has no parallel slots (it serves one completion at a time behind a
lock), so "parallel slots = concurrency" cannot be set: requests beyond the first wait in its queue
(with `--interrupt_requests False`; by default a new request would cancel the running one).

Usage: bench_llama_server.py MODEL --threads 2 --levels 1,4,16 --duration 20 --max-tokens 64 PROMPT...
"""
import argparse
import http.client
import json
import socket
import subprocess
import sys
import threading
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, server, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"llama-cpp-python server exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/v1/models")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("llama-cpp-python server did not start")


def stream_one(port, prompt, max_tokens):
    """One streamed chat completion: (token arrival times, submit time)."""
    body = json.dumps({"messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens,
                       "temperature": 0, "stream": True})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    submitted = time.perf_counter()
    conn.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}: {response.read()[:200]!r}")
    arrivals = []
    for raw in response:
        line = raw.strip()
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip()
        if data == b"[DONE]":
            break
        delta = json.loads(data)["choices"][0].get("delta", {})
        if delta.get("content"):  # one chunk per generated token
            arrivals.append(time.perf_counter())
    conn.close()
    return submitted, arrivals


def percentile(values, p):
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(round((len(s) - 1) * p)))]


def run_level(port, level, duration, max_tokens, prompts):
    lock = threading.Lock()
    stats = {"tokens": 0, "generations": 0, "failures": 0, "ttft": [], "itl": []}
    start = time.perf_counter()
    deadline = start + duration

    def client(worker):
        n = worker
        while time.perf_counter() < deadline:
            prompt = prompts[n % len(prompts)]
            n += level
            try:
                submitted, arrivals = stream_one(port, prompt, max_tokens)
            except Exception as error:  # counted, not fatal: the level goes on
                print(f"request failed: {error}", file=sys.stderr)
                with lock:
                    stats["failures"] += 1
                continue
            with lock:
                stats["tokens"] += len(arrivals)
                stats["generations"] += 1
                if arrivals:
                    stats["ttft"].append((arrivals[0] - submitted) * 1000)
                    stats["itl"] += [(b - a) * 1000 for a, b in zip(arrivals, arrivals[1:])]

    threads = [threading.Thread(target=client, args=(i,)) for i in range(level)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    return {"mode": "llama-server", "concurrency": level, "tokens": stats["tokens"], "generations": stats["generations"],
            "failures": stats["failures"], "seconds": seconds, "tokens_per_second": stats["tokens"] / seconds,
            "ttft_p50_ms": percentile(stats["ttft"], 0.5), "ttft_p99_ms": percentile(stats["ttft"], 0.99),
            "itl_p50_ms": percentile(stats["itl"], 0.5), "itl_p99_ms": percentile(stats["itl"], 0.99)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("prompts", nargs="+")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--levels", default="1,4,16")
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--n-ctx", type=int, default=2048)
    args = parser.parse_args()

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", args.model, "--host", "127.0.0.1",
                               "--port", str(port), "--n_threads", str(args.threads), "--n_threads_batch", str(args.threads),
                               "--n_ctx", str(args.n_ctx), "--verbose", "False",
                               # Queue concurrent requests instead of cancelling the one running.
                               "--interrupt_requests", "False"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port, server)
        stream_one(port, args.prompts[0], 4)  # warm-up, not counted
        for level in [int(x) for x in args.levels.split(",") if x.strip()]:
            print(json.dumps(run_level(port, level, args.duration, args.max_tokens, args.prompts)), flush=True)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
