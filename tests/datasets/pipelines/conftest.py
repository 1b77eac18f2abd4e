"""Fixtures for the data pipeline tests: the shared MMAction2 media, and tiny synthetic videos
(made once per session with PyAV) together with their frames from a plain sequential decode,
which is the reference every decoder must reproduce."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[3] / '..' / 'shared' / 'data' / 'mmaction2'
SHARED_TEST_DATA = SHARED / 'tests' / 'data'

# name -> write_video arguments; small, but with B-frames, several GOPs and odd containers
SYNTHETIC_VIDEOS = {
    'gop12.mp4': dict(num_frames=60, gop=12, bframes=2),
    'gop12.mkv': dict(num_frames=40, gop=12, bframes=2),
    'mpeg4.avi': dict(num_frames=40, gop=12, codec='mpeg4', bframes=2),
    'vfr.mp4': dict(num_frames=30, gop=10, bframes=2,
                    pts=[i if i < 15 else 2 * i for i in range(30)]),
    # no frame count in the container; OpenCV estimates it from duration x fps as 59
    'vfr.mkv': dict(num_frames=30, gop=10, bframes=2,
                    pts=[i if i < 15 else 2 * i for i in range(30)]),
    'intra.mp4': dict(num_frames=12, gop=1, bframes=0),
    # MPEG-TS seeks by byte position and lands off target: exercises the sequential fallback
    'gop12.ts': dict(num_frames=30, gop=12, bframes=2),
}


def sequential_frames(path: str | Path) -> list[np.ndarray]:
    """Every frame of ``path``, decoded start to end with plain PyAV, as RGB arrays."""
    import av
    from av.video.reformatter import VideoReformatter

    rgb = VideoReformatter()  # one swscale context for all frames (to_ndarray makes one each)
    with av.open(str(path)) as container:
        return [rgb.reformat(frame, format='rgb24').to_ndarray()
                for frame in container.decode(video=0)]


def shared_file(*parts: str) -> Path:
    """A file of the shared MMAction2 test data; skips the test when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f'shared test data not found: {path} (present in CI and the dev checkout)')
    return path


@pytest.fixture(scope='session')
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The synthetic videos of ``SYNTHETIC_VIDEOS``, by name."""
    from actionkit.datasets.pipelines.decoders.synthetic import write_video

    root = tmp_path_factory.mktemp('videos')
    return {name: Path(write_video(root / name, **kwargs))
            for name, kwargs in SYNTHETIC_VIDEOS.items()}


@pytest.fixture(scope='session')
def reference_frames(videos: dict[str, Path]) -> dict[str, list[np.ndarray]]:
    """The sequential-decode frames of every synthetic video, by name."""
    return {name: sequential_frames(path) for name, path in videos.items()}


@pytest.fixture(scope='session')
def demo_video() -> Path:
    """MMAction2's demo.mp4 (340x256, 280 frames, keyframes at 0, 187, 230, 268)."""
    return shared_file('demo', 'demo.mp4')


@pytest.fixture(scope='session')
def demo_frames(demo_video: Path) -> list[np.ndarray]:
    return sequential_frames(demo_video)


@pytest.fixture(scope='session')
def shared_video():
    """``get(relative_path) -> (path, frames)`` for the shared videos (skips when absent)."""
    cache: dict[str, tuple[Path, list[np.ndarray]]] = {}

    def get(relative: str) -> tuple[Path, list[np.ndarray]]:
        if relative not in cache:
            path = shared_file(*relative.split('/'))
            cache[relative] = (path, sequential_frames(path))
        return cache[relative]

    return get
