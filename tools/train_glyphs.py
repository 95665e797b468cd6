#!/usr/bin/env python3
"""Train Tandem's default diffusion model: a class-conditional diffusers UNet2DModel on glyphs.

The glyphs 0-9 and A-Z are rendered from the fonts that Debian's font packages install (see
FONT_PACKAGES; `--install-fonts` apt-installs them), each coloured with a random foreground and
background, at 16x16. The class is the character (0..35); class 36 is the empty class that
classifier-free guidance uses (labels are dropped to it with probability `--cfg-drop`).

The schedule is linear betas (1e-4 .. 0.02, 1000 steps) with epsilon prediction: its final
noise level (alpha_bar(999) ~ 4e-5) is safe for "trailing" spacing, which the saved
scheduler_config.json names explicitly (MEASURED.md: a cosine schedule with trailing spacing
starts at alpha_bar ~ 2.4e-9 and blows solver errors up).

Heavy (PyPI torch + diffusers): never part of the Swift build or of `make test`.

    OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE nice -n 19 \
        python3 tools/train_glyphs.py --minutes 35 --out Resources/diffusion/glyphs16
"""
import argparse
import glob
import hashlib
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_PACKAGES = [
    "fonts-dejavu-core", "fonts-dejavu-extra", "fonts-liberation", "fonts-liberation2",
    "fonts-freefont-ttf", "fonts-urw-base35", "fonts-croscore", "fonts-crosextra-carlito",
    "fonts-crosextra-caladea", "fonts-cantarell", "fonts-open-sans", "fonts-roboto-unhinted",
    "fonts-lato", "fonts-linuxlibertine", "fonts-texgyre", "fonts-inconsolata", "fonts-hack",
    "fonts-firacode", "fonts-comic-neue", "fonts-quicksand", "fonts-noto-mono",
]
CHARACTERS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
EMPTY_CLASS = len(CHARACTERS)  # 36: the unconditional class for classifier-free guidance
# Fonts whose letters are not Latin letters.
SKIP_FONT_WORDS = ("Symbol", "Dingbat", "D050000L", "Math", "Asana")


def install_fonts():
    subprocess.run(["apt-get", "install", "-y", "-qq", *FONT_PACKAGES], check=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def render_mask(font, ch, size):
    """Render one glyph as an alpha mask of size x size, fitted into a (size-2)-pixel box."""
    big = 96
    canvas = Image.new("L", (big * 2, big * 2), 0)
    ImageDraw.Draw(canvas).text((big // 2, big // 4), ch, font=font, fill=255)
    box = canvas.getbbox()
    if box is None:
        return None
    glyph = canvas.crop(box)
    w, h = glyph.size
    inner = size - 2
    scale = inner / max(w, h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    glyph = glyph.resize((nw, nh), Image.LANCZOS)
    out = Image.new("L", (size, size), 0)
    out.paste(glyph, ((size - nw) // 2, (size - nh) // 2))
    return np.asarray(out, dtype=np.float32) / 255.0


def render_dataset(size):
    """Masks [fonts, 36, size, size] in [0, 1] from every distinct font on the machine."""
    paths = sorted(glob.glob("/usr/share/fonts/**/*.ttf", recursive=True)
                   + glob.glob("/usr/share/fonts/**/*.otf", recursive=True))
    seen = set()
    fonts, names = [], []
    for path in paths:
        if any(word in path for word in SKIP_FONT_WORDS):
            continue
        try:
            font = ImageFont.truetype(path, 64)
        except OSError:
            continue
        masks = [render_mask(font, ch, size) for ch in CHARACTERS]
        if any(m is None for m in masks):
            continue
        stack = np.stack(masks)
        # A font without Latin glyphs draws the same box for every character.
        if np.abs(stack[10] - stack[11]).mean() < 0.02 or np.abs(stack[0] - stack[1]).mean() < 0.02:
            continue
        key = hashlib.sha1((stack * 255).astype(np.uint8).tobytes()).hexdigest()
        if key in seen:
            continue
        seen.add(key)
        fonts.append(stack)
        names.append(os.path.basename(path))
    return np.stack(fonts), names


def colourize(masks, rng):
    """Random foreground/background colours with enough luminance contrast; output in [-1, 1]."""
    n = masks.shape[0]
    fg = rng.random((n, 3), dtype=np.float32)
    bg = rng.random((n, 3), dtype=np.float32)
    luma = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    for _ in range(20):
        bad = np.abs((fg - bg) @ luma) < 0.35
        if not bad.any():
            break
        fg[bad] = rng.random((bad.sum(), 3), dtype=np.float32)
        bg[bad] = rng.random((bad.sum(), 3), dtype=np.float32)
    m = masks[:, None, :, :]
    img = bg[:, :, None, None] * (1 - m) + fg[:, :, None, None] * m
    return img * 2 - 1


def nearest_class(images, masks, labels):
    """Colour-invariant nearest neighbour: per image and channel, fit bg + (fg-bg)*mask by least
    squares for every dataset mask and take the class of the mask with the least residual."""
    # images [n,3,H,W] in [-1,1]; masks [m,H,W]; labels [m]
    n = images.shape[0]
    x = images.reshape(n, 3, -1).astype(np.float64)
    mk = masks.reshape(masks.shape[0], -1).astype(np.float64)
    mc = mk - mk.mean(1, keepdims=True)
    mnorm = (mc ** 2).sum(1)  # [m]
    xc = x - x.mean(2, keepdims=True)
    xss = (xc ** 2).sum(2)  # [n,3]
    proj = np.einsum("ncp,mp->ncm", xc, mc)  # [n,3,m]
    resid = (xss[:, :, None] - proj ** 2 / mnorm[None, None, :]).sum(1)  # [n,m]
    return labels[resid.argmin(1)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=16)
    ap.add_argument("--minutes", type=float, default=35.0)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--cfg-drop", type=float, default=0.1)
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="Resources/diffusion/glyphs16")
    ap.add_argument("--install-fonts", action="store_true")
    ap.add_argument("--resume", default=None,
                    help="continue from a model folder this script wrote (its EMA weights seed both "
                         "the trained and the EMA model; the optimizer starts fresh with warmup)")
    args = ap.parse_args()

    import torch
    from diffusers import DDPMScheduler, UNet2DModel

    if args.install_fonts:
        install_fonts()
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    t0 = time.time()
    masks, names = render_dataset(args.size)
    print(f"rendered {masks.shape[0]} distinct fonts x {len(CHARACTERS)} classes = "
          f"{masks.shape[0] * len(CHARACTERS)} glyphs in {time.time() - t0:.1f} s", flush=True)
    flat = masks.reshape(-1, args.size, args.size)
    flat_labels = np.tile(np.arange(len(CHARACTERS)), masks.shape[0])

    model_config = dict(
        sample_size=args.size, in_channels=3, out_channels=3, layers_per_block=1,
        block_out_channels=(32, 64, 64),
        down_block_types=("DownBlock2D", "DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
        attention_head_dim=32, norm_num_groups=8, num_class_embeds=EMPTY_CLASS + 1,
        time_embedding_type="positional", flip_sin_to_cos=True, freq_shift=0,
    )
    model = UNet2DModel(**model_config)
    previous = None
    if args.resume:
        model.load_state_dict(UNet2DModel.from_pretrained(args.resume).state_dict())
        with open(os.path.join(args.resume, "training.json")) as f:
            previous = json.load(f)["training"]
    nparams = sum(p.numel() for p in model.parameters())
    print(f"parameters: {nparams}", flush=True)
    ema = UNet2DModel(**model_config)
    ema.load_state_dict(model.state_dict())
    ema.requires_grad_(False)
    sched = DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear", beta_start=1e-4,
                          beta_end=0.02, prediction_type="epsilon", timestep_spacing="trailing",
                          clip_sample=False)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    acp = sched.alphas_cumprod

    budget = args.minutes * 60
    start = time.time()
    step = 0
    losses = []
    os.makedirs(args.out, exist_ok=True)
    while time.time() - start < budget:
        frac = (time.time() - start) / budget
        warm = min(1.0, (step + 1) / 200)
        lr = args.lr * warm * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        idx = rng.integers(0, flat.shape[0], args.batch)
        x0 = torch.from_numpy(colourize(flat[idx], rng))
        labels = torch.from_numpy(flat_labels[idx]).long()
        drop = torch.rand(args.batch) < args.cfg_drop
        labels[drop] = EMPTY_CLASS
        t = torch.randint(0, 1000, (args.batch,))
        noise = torch.randn_like(x0)
        a = acp[t].sqrt()[:, None, None, None]
        s = (1 - acp[t]).sqrt()[:, None, None, None]
        xt = a * x0 + s * noise
        pred = model(xt, t, class_labels=labels).sample
        loss = torch.nn.functional.mse_loss(pred, noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        decay = min(args.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(decay).add_(pm, alpha=1 - decay)
        losses.append(loss.item())
        step += 1
        if step % 100 == 0:
            print(f"step {step} loss {np.mean(losses[-100:]):.4f} lr {lr:.2e} "
                  f"elapsed {time.time() - start:.0f} s", flush=True)
        if step % 1000 == 0:
            ema.save_pretrained(args.out + "/checkpoint", safe_serialization=True)
    train_seconds = time.time() - start
    ema.save_pretrained(args.out, safe_serialization=True)
    sched.save_pretrained(args.out)

    # Readability: DDIM 50 steps, guidance 3, 4 samples per class, colour-invariant nearest
    # neighbour against the whole dataset.
    from diffusers import DDIMScheduler
    ddim = DDIMScheduler.from_config(sched.config)
    ddim.set_timesteps(50)
    gen = torch.Generator().manual_seed(1234)
    per_class = 4
    classes = torch.arange(len(CHARACTERS)).repeat_interleave(per_class)
    x = torch.randn((classes.shape[0], 3, args.size, args.size), generator=gen)
    with torch.no_grad():
        for t in ddim.timesteps:
            inp = torch.cat([x, x])
            lab = torch.cat([classes, torch.full_like(classes, EMPTY_CLASS)])
            eps = ema(inp, t, class_labels=lab).sample
            ec, eu = eps.chunk(2)
            x = ddim.step(eu + 3.0 * (ec - eu), t, x).prev_sample
    imgs = x.clamp(-1, 1).numpy()
    pred = nearest_class(imgs, flat, flat_labels)
    accuracy = float((pred == classes.numpy()).mean())
    print(f"readability (nearest neighbour, DDIM 50, guidance 3): {accuracy * 100:.1f} %", flush=True)
    grid = ((imgs.transpose(0, 2, 3, 1) + 1) * 127.5).astype(np.uint8)
    grid = grid.reshape(len(CHARACTERS), per_class, args.size, args.size, 3)
    grid = grid.transpose(1, 2, 0, 3, 4).reshape(per_class * args.size, len(CHARACTERS) * args.size, 3)
    Image.fromarray(grid).resize((grid.shape[1] * 4, grid.shape[0] * 4), Image.NEAREST).save(
        args.out + "/samples.png")

    settings = dict(
        model=model_config, parameters=nparams,
        scheduler=dict(num_train_timesteps=1000, beta_schedule="linear", beta_start=1e-4,
                       beta_end=0.02, prediction_type="epsilon", timestep_spacing="trailing"),
        training=dict(minutes_budget=args.minutes, seconds=round(train_seconds, 1), steps=step,
                      batch=args.batch, lr=args.lr, lr_schedule="200-step warmup, cosine to 5%",
                      optimizer="AdamW wd=0", grad_clip=1.0, ema=args.ema, cfg_drop=args.cfg_drop,
                      seed=args.seed, final_loss=float(np.mean(losses[-200:])),
                      threads=torch.get_num_threads(),
                      omp_wait_policy=os.environ.get("OMP_WAIT_POLICY"),
                      torch=torch.__version__,
                      resumed_from=previous,
                      total_seconds=round(train_seconds + (previous or {}).get("total_seconds", previous and previous["seconds"] or 0), 1),
                      total_steps=step + (previous or {}).get("total_steps", previous and previous["steps"] or 0)),
        dataset=dict(fonts=len(names), glyphs=int(flat.shape[0]), font_packages=FONT_PACKAGES,
                     colours="uniform random RGB fg/bg, |luma(fg)-luma(bg)| >= 0.35",
                     characters=CHARACTERS, empty_class=EMPTY_CLASS),
        readability=dict(method="colour-invariant nearest neighbour over the dataset",
                         sampler="DDIM 50 steps trailing, guidance 3", samples=int(classes.shape[0]),
                         accuracy=accuracy),
    )
    with open(args.out + "/training.json", "w") as f:
        json.dump(settings, f, indent=2)
    print(json.dumps(settings["training"], indent=2))


if __name__ == "__main__":
    main()
