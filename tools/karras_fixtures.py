#!/usr/bin/env python3
"""Parity fixtures for DPM-Solver++ 2M on Karras σ (diffusers' `use_karras_sigmas=True`).

Writes into Tests/TandemDiffusionTests/Fixtures/:
- karras_timesteps.json: timesteps and σ for many step counts (Karras spacing ignores
  `timestep_spacing`, so one table);
- karras_cases.safetensors + karras_cases.json: guided sampling of the committed tiny UNet
  (tiny_unet/, from tools/diffusion_fixtures.py) at 5, 10 and 20 steps with ε prediction and at
  10 steps with v prediction, every step's sample and guided model output, in the layout of
  solver_cases.

Requires PyPI torch + diffusers; never run by the Swift build or `make test`.

    python3 tools/karras_fixtures.py     # from the repository root
"""
import json
import os
import sys

import torch
from diffusers import DPMSolverMultistepScheduler, UNet2DModel
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from diffusion_fixtures import BASE, OUT, sample  # noqa: E402


def scheduler(prediction):
    return DPMSolverMultistepScheduler(**BASE, timestep_spacing="trailing", prediction_type=prediction,
                                       solver_order=2, algorithm_type="dpmsolver++", use_karras_sigmas=True)


def main():
    torch.set_num_threads(1)
    table = {}
    for steps in [1, 2, 3, 4, 5, 7, 10, 13, 15, 20, 25, 50, 200]:
        s = scheduler("epsilon")
        s.set_timesteps(steps)
        table[str(steps)] = {"timesteps": [float(v) for v in s.timesteps.tolist()],
                             "sigmas": [float(v) for v in s.sigmas.tolist()]}
    with open(f"{OUT}/karras_timesteps.json", "w") as f:
        json.dump(table, f)

    unet = UNet2DModel.from_pretrained(f"{OUT}/tiny_unet").eval()
    gen = torch.Generator().manual_seed(4)
    noise = torch.randn((1, 3, 8, 8), generator=gen)
    tensors, index = {"noise": noise.contiguous()}, []
    for prediction, steps in [("epsilon", 5), ("epsilon", 10), ("epsilon", 20), ("v_prediction", 10)]:
        ts, samples, outputs, _ = sample(unet, scheduler(prediction), steps, noise, cond=1, empty=4, guidance=3.0)
        name = f"dpmpp2m-karras/{prediction}/{steps}"
        tensors[name + "/samples"] = samples.reshape(steps + 1, -1).contiguous()
        tensors[name + "/model_outputs"] = outputs.reshape(steps, -1).contiguous()
        index.append({"name": name, "solver": "dpmpp2m-karras", "spacing": "trailing", "prediction": prediction,
                      "steps": steps, "timesteps": [float(v) for v in ts]})
    save_file(tensors, f"{OUT}/karras_cases.safetensors")
    with open(f"{OUT}/karras_cases.json", "w") as f:
        json.dump({"guidance": 3.0, "class": 1, "empty_class": 4, "cases": index}, f, indent=1)


if __name__ == "__main__":
    main()
