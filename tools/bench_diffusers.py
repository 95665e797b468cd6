#!/usr/bin/env python3
"""The same render benchmark as tandem-diffusion-bench, under diffusers on CPU.

C requests of one image each, classifier-free guidance (conditional + empty class in one UNet
batch), the same solver and step count, torch limited to --threads. "batched" runs all C
requests as one batch (what diffusers can do at best: one pipeline call for all of them);
"sequential" runs them one after another. Prints images/s and mean latency.

    OMP_WAIT_POLICY=PASSIVE python3 tools/bench_diffusers.py --model Shared/TandemDiffusion/Resources/glyphs16 \\
        --solver dpmpp-2m --steps 10 --concurrency 16 --threads 1
"""
import argparse
import time

import torch
from diffusers import (DDIMScheduler, DEISMultistepScheduler, DPMSolverMultistepScheduler,
                       EulerDiscreteScheduler, UNet2DModel, UniPCMultistepScheduler)

SCHEDULERS = {
    "ddim": (DDIMScheduler, {}),
    "euler": (EulerDiscreteScheduler, {}),
    "dpmpp-2m": (DPMSolverMultistepScheduler, {"solver_order": 2}),
    "dpmpp-3m": (DPMSolverMultistepScheduler, {"solver_order": 3}),
    "dpmpp-2m-karras": (DPMSolverMultistepScheduler, {"solver_order": 2, "use_karras_sigmas": True}),
    "unipc": (UniPCMultistepScheduler, {"solver_order": 2}),
    "deis": (DEISMultistepScheduler, {"solver_order": 3}),
}


def render(unet, scheduler, labels, steps, guidance, empty, noise=None):
    """Guided sampling of one batch; `noise` (else fresh) is the starting latent."""
    scheduler.set_timesteps(steps)
    if noise is None:
        noise = torch.randn((labels.shape[0], 3, unet.config.sample_size, unet.config.sample_size))
    x = noise * scheduler.init_noise_sigma
    both = torch.cat([labels, torch.full_like(labels, empty)])
    for t in scheduler.timesteps:
        inp = scheduler.scale_model_input(x, t)
        out = unet(torch.cat([inp, inp]), t, class_labels=both).sample
        c, u = out.chunk(2)
        x = scheduler.step(u + guidance * (c - u), t, x).prev_sample
    return x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="Shared/TandemDiffusion/Resources/glyphs16")
    ap.add_argument("--solver", default="dpmpp-2m")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--guidance", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batched-only", action="store_true", help="skip the sequential run")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    unet = UNet2DModel.from_pretrained(args.model).eval()
    cls, extra = SCHEDULERS[args.solver]
    scheduler = cls.from_pretrained(args.model, **extra)
    empty = unet.config.num_class_embeds - 1
    labels = torch.arange(args.concurrency) % empty
    print(f"diffusers {args.solver}, {args.steps} steps, concurrency {args.concurrency}, threads {args.threads}")
    with torch.inference_mode():
        render(unet, scheduler, labels, args.steps, args.guidance, empty)  # warm-up at full size, as tandem's
        start, cpu = time.perf_counter(), time.process_time()
        render(unet, scheduler, labels, args.steps, args.guidance, empty)
        batched, cpu = time.perf_counter() - start, time.process_time() - cpu
        print(f"batched   : {args.concurrency} images in {batched:.2f} s = {args.concurrency / batched:.1f} images/s, "
              f"latency mean {batched:.3f} s, cpu {cpu:.2f} s")
        if args.batched_only:
            return
        start = time.perf_counter()
        finish = []
        for i in range(args.concurrency):
            render(unet, scheduler, labels[i:i + 1], args.steps, args.guidance, empty)
            finish.append(time.perf_counter() - start)
        total = finish[-1]
        print(f"sequential: {args.concurrency} images in {total:.2f} s = {args.concurrency / total:.1f} images/s, "
              f"latency mean {sum(finish) / len(finish):.3f} s")


if __name__ == "__main__":
    main()
