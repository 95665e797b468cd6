#!/usr/bin/env python3
"""The llama.cpp server side of `tandem bench generate --llama-server`.

Starts llama-cpp-python's OpenAI-compatible server on the same GGUF with the same thread count
(or, with --server-binary, llama.cpp's own `llama-server` with as many parallel slots as the
level's concurrency, restarted per level), then, per concurrency level, runs that many client threads that each stream greedy chat
completions of the same prompts back to back for DURATION seconds — the load `tandem bench
generate` puts on the Tandem stack. Prints one JSON line per level:
tokens, generations, tokens_per_second, TTFT and inter-token latency p50/p99.

llama-cpp-python's server has no parallel slots (it serves one completion at a time behind a
lock), so "parallel slots = concurrency" cannot be set: requests beyond the first wait in its queue
(with `--interrupt_requests False`; by default a new request would cancel the running one).

llama.cpp's `llama-server` batches its slots continuously (iteration-level), as Tandem's decode
worker does; that is the stronger baseline. It is not part of llama-cpp-python's wheel: build it
from the llama.cpp sources vendored in llama-cpp-python's sdist (`cmake --build build --target
llama-server`).

Usage: bench_llama_server.py MODEL --threads 2 --levels 1,4,16 --duration 20 --max-tokens 64 [--server-binary PATH] PROMPT...
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
    parser.add_argument("--server-binary", help="llama.cpp's llama-server instead of llama-cpp-python's server")
    args = parser.parse_args()

    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    if args.server_binary:
        # One server per level: slots = concurrency, each slot with the context of one request.
        for level in levels:
            port = free_port()
            command = [args.server_binary, "-m", args.model, "--host", "127.0.0.1", "--port", str(port),
                       "-t", str(args.threads), "-tb", str(args.threads), "-np", str(level), "-c", str(args.n_ctx * level),
                       "--log-disable"]
            with serving(command, port) as _:
                row = run_level(port, level, args.duration, args.max_tokens, args.prompts)
                row["mode"] = "llama.cpp-server"
                print(json.dumps(row), flush=True)
        return
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", args.model, "--host", "127.0.0.1",
               "--port", str(port), "--n_threads", str(args.threads), "--n_threads_batch", str(args.threads),
               "--n_ctx", str(args.n_ctx), "--verbose", "False",
               # Queue concurrent requests instead of cancelling the one running.
               "--interrupt_requests", "False"]
    with serving(command, port) as _:
        for level in levels:
            print(json.dumps(run_level(port, level, args.duration, args.max_tokens, args.prompts)), flush=True)


class serving:
    """Runs a server command until the block ends; ready and warmed up on entry."""

    def __init__(self, command, port):
        self.command, self.port = command, port

    def __enter__(self):
        self.server = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_ready(self.port, self.server)
            stream_one(self.port, "Hello", 4)  # warm-up, not counted
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self.server

    def __exit__(self, *_):
        self.server.terminate()
        try:
            self.server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.server.kill()


if __name__ == "__main__":
    main()
