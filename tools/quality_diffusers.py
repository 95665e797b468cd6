#!/usr/bin/env python3
"""Readability of few-step samplers under diffusers: the variants the Swift solvers do not carry.

The same measurement as `tandem bench render --quality` (360 renders = 10 per class, fixed seeds,
the same initial noise for every setting, read by the colour-invariant nearest glyph against
Tests/TandemDiffusionTests/Fixtures/glyph_atlas16.png, images quantised to 8 bits as the PNGs are),
run on diffusers' schedulers with their options: UniPC bh1 vs bh2, order 3, `lower_order_final`,
DPM-Solver++ 2M/3M, Karras sigmas. Prints a markdown table with Wilson 95 % intervals and the
paired difference from DDIM at 50 steps.

    OMP_WAIT_POLICY=PASSIVE python3 tools/quality_diffusers.py --threads 1 --guidance 3
"""
import argparse
import math
import time

import numpy as np
import torch
from diffusers import (DDIMScheduler, DPMSolverMultistepScheduler, EulerDiscreteScheduler, UNet2DModel,
                       UniPCMultistepScheduler)
from PIL import Image

from bench_diffusers import render
from train_glyphs import nearest_class

Z = 1.959964

SETTINGS = [
    ("ddim", 50, DDIMScheduler, {}),
    ("ddim", 10, DDIMScheduler, {}),
    ("euler", 10, EulerDiscreteScheduler, {}),
    ("dpmpp-2m", 10, DPMSolverMultistepScheduler, {"solver_order": 2}),
    ("dpmpp-2m, lower_order_final=False", 10, DPMSolverMultistepScheduler, {"solver_order": 2, "lower_order_final": False}),
    ("dpmpp-2m, Karras sigmas", 10, DPMSolverMultistepScheduler, {"solver_order": 2, "use_karras_sigmas": True}),
    ("dpmpp-3m", 10, DPMSolverMultistepScheduler, {"solver_order": 3}),
    ("unipc bh2", 10, UniPCMultistepScheduler, {"solver_order": 2, "solver_type": "bh2"}),
    ("unipc bh1", 10, UniPCMultistepScheduler, {"solver_order": 2, "solver_type": "bh1"}),
    ("unipc bh2, lower_order_final=False", 10, UniPCMultistepScheduler, {"solver_order": 2, "lower_order_final": False}),
    ("unipc bh2, order 3", 10, UniPCMultistepScheduler, {"solver_order": 3}),
    ("unipc bh1, order 3", 10, UniPCMultistepScheduler, {"solver_order": 3, "solver_type": "bh1"}),
]


def wilson(k, n):
    p = k / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z / (1 + Z * Z / n) * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def paired(a, b):
    n = len(a)
    only_a = int(np.sum(a & ~b))
    only_b = int(np.sum(~a & b))
    d = (only_a - only_b) / n
    half = Z * math.sqrt(max(0.0, only_a + only_b - (only_a - only_b) ** 2 / n)) / n
    return d, d - half, d + half


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="Shared/TandemDiffusion/Resources/glyphs16")
    ap.add_argument("--atlas", default="Tests/TandemDiffusionTests/Fixtures/glyph_atlas16.png")
    ap.add_argument("--per-class", type=int, default=10)
    ap.add_argument("--guidance", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    atlas = np.asarray(Image.open(args.atlas).convert("L"), dtype=np.float64) / 255
    size, classes = 16, 36
    fonts = atlas.shape[0] // size
    masks = atlas.reshape(fonts, size, classes, size).transpose(0, 2, 1, 3).reshape(fonts * classes, size, size)
    mask_labels = np.tile(np.arange(classes), fonts)
    keep = masks.reshape(len(masks), -1).std(1) > 0
    masks, mask_labels = masks[keep], mask_labels[keep]

    unet = UNet2DModel.from_pretrained(args.model).eval()
    empty = unet.config.num_class_embeds - 1
    labels = torch.arange(classes).repeat_interleave(args.per_class)
    noise = torch.randn((len(labels), 3, size, size), generator=torch.Generator().manual_seed(args.seed))
    print(f"diffusers readability: {len(labels)} renders per setting ({args.per_class} per class, seed {args.seed}), "
          f"guidance {args.guidance:g}, nearest glyph of {fonts} fonts")
    print("| sampler (diffusers) | steps | readable | 95 % interval | vs DDIM-50 (paired) | 95 % interval | seconds |")
    print("|---|---:|---:|---|---:|---|---:|")
    reference = None
    with torch.inference_mode():
        for name, steps, cls, extra in SETTINGS:
            scheduler = cls.from_pretrained(args.model, **extra)
            start = time.perf_counter()
            x = render(unet, scheduler, labels, steps, args.guidance, empty, noise=noise)
            seconds = time.perf_counter() - start
            images = np.round((x.clamp(-1, 1).numpy() + 1) * 127.5) / 127.5 - 1  # 8-bit, as the PNGs
            correct = nearest_class(images, masks, mask_labels) == labels.numpy()
            if reference is None:
                reference = correct
            lo, hi = wilson(int(correct.sum()), len(correct))
            if correct is reference:
                versus = "— | —"
            else:
                d, dlo, dhi = paired(correct, reference)
                versus = f"{100 * d:+.1f} pt | {100 * dlo:+.1f} … {100 * dhi:+.1f} pt"
            print(f"| {name} | {steps} | {100 * correct.mean():.1f} % | {100 * lo:.1f} … {100 * hi:.1f} % | {versus} | {seconds:.1f} |",
                  flush=True)


if __name__ == "__main__":
    main()
