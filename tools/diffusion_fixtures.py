#!/usr/bin/env python3
"""Generate the diffusers parity fixtures that Tests/TandemDiffusionTests checks Tandem against.

Writes into Tests/TandemDiffusionTests/Fixtures/:
- tiny_unet/: a small random-weight class-conditional UNet2DModel (8x8, blocks 8/16, attention
  in the second block and the mid block, 2 heads, flip_sin_to_cos=False, freq_shift=1) with its
  weights perturbed so that norms and biases are not at their init values;
- tiny_unet_io.safetensors: inputs (batch 3, own timestep and class each) and diffusers' outputs;
- solver_cases.safetensors + solver_cases.json: for each (solver, spacing, prediction, steps),
  diffusers' timesteps, the initial latent, the guided model output at every step and the latent
  after every step, sampling the tiny UNet with classifier-free guidance 3 (class 1 vs empty 4);
- timesteps.json: every scheduler's timesteps (and Euler's sigmas) for many step counts and each
  of the three spacings;
- glyphs16_io.safetensors (with --trained DIR): the trained model's outputs for given inputs, and
  a DPM-Solver++ 2M 10-step guided render's final latent.

Requires PyPI torch + diffusers; never run by the Swift build or `make test`.

    python3 tools/diffusion_fixtures.py [--trained Shared/TandemDiffusion/Resources/glyphs16]
"""
import argparse
import json
import os

import numpy as np
import torch
from diffusers import (DDIMScheduler, DEISMultistepScheduler, DPMSolverMultistepScheduler,
                       EulerDiscreteScheduler, UNet2DModel, UniPCMultistepScheduler)
from safetensors.torch import save_file

OUT = "Tests/TandemDiffusionTests/Fixtures"
BASE = dict(num_train_timesteps=1000, beta_start=1e-4, beta_end=0.02, beta_schedule="linear")


def make_scheduler(solver, spacing, prediction):
    common = dict(BASE, timestep_spacing=spacing, prediction_type=prediction)
    if solver == "ddim":
        return DDIMScheduler(**common, clip_sample=False, set_alpha_to_one=True)
    if solver == "euler":
        return EulerDiscreteScheduler(**common)
    if solver == "dpmpp2m":
        return DPMSolverMultistepScheduler(**common, solver_order=2, algorithm_type="dpmsolver++")
    if solver == "dpmpp3m":
        return DPMSolverMultistepScheduler(**common, solver_order=3, algorithm_type="dpmsolver++")
    if solver == "unipc":
        return UniPCMultistepScheduler(**common, solver_order=2, solver_type="bh2")
    if solver == "deis":
        return DEISMultistepScheduler(**common, solver_order=3)
    raise ValueError(solver)


SOLVERS = ["ddim", "euler", "dpmpp2m", "dpmpp3m", "unipc", "deis"]


def tiny_unet():
    torch.manual_seed(0)
    unet = UNet2DModel(
        sample_size=8, in_channels=3, out_channels=3, layers_per_block=1, block_out_channels=(8, 16),
        down_block_types=("DownBlock2D", "AttnDownBlock2D"), up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=8, norm_num_groups=4, num_class_embeds=5, flip_sin_to_cos=False, freq_shift=1)
    with torch.no_grad():
        for p in unet.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return unet.eval()


def sample(unet, sched, steps, noise, cond, empty, guidance):
    """A guided sampling loop exactly as diffusers' pipelines run it; records every step."""
    sched.set_timesteps(steps)
    x = noise * sched.init_noise_sigma
    samples, outputs, inputs = [x.clone()], [], []
    for t in sched.timesteps:
        model_in = sched.scale_model_input(x, t) if hasattr(sched, "scale_model_input") else x
        inputs.append(model_in.clone())
        batch = torch.cat([model_in, model_in])
        labels = torch.tensor([cond] * x.shape[0] + [empty] * x.shape[0])
        with torch.no_grad():
            out = unet(batch, t, class_labels=labels).sample
        oc, ou = out.chunk(2)
        guided = ou + guidance * (oc - ou)
        outputs.append(guided.clone())
        x = sched.step(guided, t, x).prev_sample
        samples.append(x.clone())
    return sched.timesteps.tolist(), torch.stack(samples), torch.stack(outputs), torch.stack(inputs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trained", default=None)
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)

    unet = tiny_unet()
    unet.save_pretrained(f"{OUT}/tiny_unet", safe_serialization=True)

    gen = torch.Generator().manual_seed(1)
    x = torch.randn((3, 3, 8, 8), generator=gen)
    t = torch.tensor([999, 500, 3])
    c = torch.tensor([0, 4, 2])
    with torch.no_grad():
        y = unet(x, t, class_labels=c).sample
    save_file({"sample": x.contiguous(), "timesteps": t.float(), "class_labels": c.float(), "output": y.contiguous()},
              f"{OUT}/tiny_unet_io.safetensors")

    # Timesteps of every scheduler for many step counts and each spacing.
    table = {}
    for solver in SOLVERS:
        for spacing in ["leading", "linspace", "trailing"]:
            for steps in [1, 2, 3, 4, 5, 7, 10, 13, 15, 20, 25, 50, 200]:
                s = make_scheduler(solver, spacing, "epsilon")
                s.set_timesteps(steps)
                entry = {"timesteps": [float(v) for v in s.timesteps.tolist()]}
                if hasattr(s, "sigmas"):
                    entry["sigmas"] = [float(v) for v in s.sigmas.tolist()]
                entry["init_noise_sigma"] = float(s.init_noise_sigma)
                table[f"{solver}/{spacing}/{steps}"] = entry
    with open(f"{OUT}/timesteps.json", "w") as f:
        json.dump(table, f)

    # Per-step latents.
    cases = [(s, "trailing", "epsilon", n) for s in SOLVERS for n in (5, 10, 20)]
    cases += [(s, sp, "epsilon", 10) for s in SOLVERS for sp in ("leading", "linspace")]
    cases += [(s, "trailing", "v_prediction", 10) for s in SOLVERS]
    tensors, index = {}, []
    gen = torch.Generator().manual_seed(2)
    noise = torch.randn((1, 3, 8, 8), generator=gen)
    tensors["noise"] = noise.contiguous()
    for solver, spacing, prediction, steps in cases:
        sched = make_scheduler(solver, spacing, prediction)
        ts, samples, outputs, inputs = sample(unet, sched, steps, noise, cond=1, empty=4, guidance=3.0)
        name = f"{solver}/{spacing}/{prediction}/{steps}"
        tensors[name + "/samples"] = samples.reshape(steps + 1, -1).contiguous()
        tensors[name + "/model_outputs"] = outputs.reshape(steps, -1).contiguous()
        index.append({"name": name, "solver": solver, "spacing": spacing, "prediction": prediction,
                      "steps": steps, "timesteps": [float(v) for v in ts]})
    save_file(tensors, f"{OUT}/solver_cases.safetensors")
    with open(f"{OUT}/solver_cases.json", "w") as f:
        json.dump({"guidance": 3.0, "class": 1, "empty_class": 4, "cases": index}, f, indent=1)

    if args.trained:
        model = UNet2DModel.from_pretrained(args.trained).eval()
        gen = torch.Generator().manual_seed(3)
        x = torch.randn((4, 3, 16, 16), generator=gen)
        t = torch.tensor([999, 600, 250, 0])
        c = torch.tensor([10, 0, 35, 36])
        with torch.no_grad():
            y = model(x, t, class_labels=c).sample
        with open(os.path.join(args.trained, "scheduler_config.json")) as f:
            sconf = json.load(f)
        sched = DPMSolverMultistepScheduler(**BASE, timestep_spacing=sconf["timestep_spacing"],
                                            prediction_type=sconf["prediction_type"], solver_order=2)
        noise = torch.randn((1, 3, 16, 16), generator=gen)
        _, samples, _, _ = sample(model, sched, 10, noise, cond=10, empty=36, guidance=3.0)
        save_file({"sample": x.contiguous(), "timesteps": t.float(), "class_labels": c.float(),
                   "output": y.contiguous(), "render_noise": noise.contiguous(),
                   "render_final": samples[-1].contiguous()}, f"{OUT}/glyphs16_io.safetensors")


if __name__ == "__main__":
    main()
