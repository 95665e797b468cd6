#!/usr/bin/env python3
"""Write the glyph reference atlas the Swift readability test compares renders against.

One row per font (every 4th distinct font of the training set, rendered exactly as
tools/train_glyphs.py renders them), one 16x16 cell per class 0-9, A-Z; white glyph on black.
Needs Pillow and numpy only (no torch).

    python3 tools/glyph_atlas.py Tests/TandemDiffusionTests/Fixtures/glyph_atlas16.png
"""
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
from train_glyphs import render_dataset  # noqa: E402


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "Tests/TandemDiffusionTests/Fixtures/glyph_atlas16.png"
    masks, names = render_dataset(16)
    masks = masks[::4]
    fonts, classes, size, _ = masks.shape
    atlas = masks.transpose(0, 2, 1, 3).reshape(fonts * size, classes * size)
    Image.fromarray((atlas * 255).round().astype(np.uint8)).save(out, optimize=True)
    print(f"{fonts} fonts x {classes} classes -> {out}")


if __name__ == "__main__":
    main()
