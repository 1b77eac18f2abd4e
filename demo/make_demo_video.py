"""Write ``demo/demo.mp4``: the small generated video the README's quick start and the guide use.

Three seconds (90 frames, 30 fps) of 340x256 H.264: a synthetic clip (one of
``actionkit.datasets.synthetic``'s classes) rendered at 256x256 and framed by a border to
MMAction2's demo aspect. Deterministic: ``python demo/make_demo_video.py`` rewrites the same
picture.
"""
from __future__ import annotations

import sys
import argparse
from pathlib import Path

import numpy as np

from actionkit.datasets.synthetic import make_synthetic_video, render_synthetic_clip
from actionkit.utils.cli_main import run_main


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default=str(Path(__file__).resolve().parent / 'demo.mp4'))
    args = parser.parse_args(argv)
    frames = render_synthetic_clip(label=2, rng=2026, num_frames=90, size=256)
    border = np.zeros((90, 256, 42, 3), np.uint8) + np.uint8(40)
    frames = np.concatenate([border, frames, border], axis=2)  # 340 x 256
    make_synthetic_video(args.out, frames, fps=30, gop=30, crf=30)
    print(f'wrote {args.out} ({Path(args.out).stat().st_size // 1024} KiB)')


if __name__ == '__main__':
    sys.exit(run_main(main))
