"""The README's quick start and the guide read ``demo/demo.mp4``: it is shipped, small, and
decodes with the guide's inference pipeline."""
from __future__ import annotations

from pathlib import Path

from actionkit.datasets.pipelines import Compose

DEMO = Path(__file__).resolve().parents[2] / 'demo' / 'demo.mp4'


def test_demo_video_is_shipped_small_and_decodes() -> None:
    assert DEMO.is_file() and DEMO.stat().st_size < 300 * 1024
    pipeline = Compose([dict(type='PyAVInit'),
                        dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=3,
                             test_mode=True),
                        dict(type='PyAVDecode'), dict(type='Resize', scale=(-1, 256))])
    results = pipeline(dict(filename=str(DEMO), label=-1, start_index=0, modality='RGB'))
    assert results['total_frames'] == 90
    assert list(results['frame_inds']) == [15, 45, 75]  # the middles of 3 segments of 30
    assert [img.shape for img in results['imgs']] == [(256, 340, 3)] * 3
