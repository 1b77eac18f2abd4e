"""Bad media, as a user meets them: a dataset built from a config, with its pipeline.

One table, :data:`SAMPLE_FAULTS`, lists every kind of bad (or merely unusual) sample. For each
one the test builds a two-sample dataset (a good sample, then the faulty one) and checks both
modes:

* test mode: loading the faulty sample raises :class:`~actionkit.errors.DataError` whose
  message names the file (and says what is wrong), or, for inputs that are unusual but valid,
  returns a normal sample;
* train mode: the DataLoader hands over a batch holding the good sample, with the faulty one
  set aside in ``batch['bad_samples']`` (index, path, reason) for the trainer to count.

The other tests here cover what a table row cannot: every decoding backend on the video
faults, sampling past the real end of a video whose header lies, the memory used by a 4K
video, and a whole ``tools/train.py`` run that skips and counts the bad samples.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from faults_helpers import (REPO, load_tool, rawframe_pipeline, slug, subprocess_env,
                           video_pipeline, write_config)
from faults_media import (write_4k_clip, write_audio_only, write_clip, write_faststart_copy,
                          write_frame_folder, write_lying_avi, write_random_bytes, write_truncated)

from actionkit.datasets import build_dataloader, build_dataset
from actionkit.datasets.pipelines.compose import Compose
from actionkit.engine.trainer import BadSampleCounter
from actionkit.errors import BadSample, DataError

UNICODE_VIDEO = 'my clips/jump über 1 – ß.mp4'
UNICODE_FRAMES = 'clips/vidéo 1 ü'
RAWFRAMES = 8  # frames of every rawframe folder; the pipeline reads all of them


@dataclass(frozen=True)
class SampleFault:
    """One kind of bad sample.

    Attributes:
        kind: its name in docs/reliability.md.
        layout: ``'videos'`` (a file) or ``'rawframes'`` (a folder of JPEGs).
        make: writes the sample under the data root and returns its path relative to it.
        error: a regex the DataError message must match, or None when the sample must load.
    """

    kind: str
    layout: str
    make: Callable[[Path], str]
    error: str | None


def _zero_bytes(root: Path) -> str:
    (root / 'zero.mp4').write_bytes(b'')
    return 'zero.mp4'


def _truncated(fraction: float, index_first: bool) -> Callable[[Path], str]:
    def make(root: Path) -> str:
        full = write_clip(root / 'full.mp4', num_frames=48)
        if index_first:
            full = write_faststart_copy(full, root / 'faststart.mp4')
        name = f'cut_{int(fraction * 100)}_{"index_first" if index_first else "index_last"}.mp4'
        write_truncated(full, root / name, fraction)
        return name
    return make


def _random_bytes(root: Path) -> str:
    write_random_bytes(root / 'noise.mp4')
    return 'noise.mp4'


def _audio_only(root: Path) -> str:
    write_audio_only(root / 'speech.mp4')
    return 'speech.mp4'


def _lying_header(root: Path) -> str:
    write_lying_avi(root / 'liar.avi', real_frames=20, claimed_frames=60)
    return 'liar.avi'


def _one_frame(root: Path) -> str:
    write_clip(root / 'still.mp4', num_frames=1)
    return 'still.mp4'


def _unicode_video(root: Path) -> str:
    (root / UNICODE_VIDEO).parent.mkdir(parents=True, exist_ok=True)
    write_clip(root / UNICODE_VIDEO)
    return UNICODE_VIDEO


def _gap(root: Path) -> str:
    (write_frame_folder(root / 'gap', RAWFRAMES) / 'img_00004.jpg').unlink()
    return 'gap'


def _corrupt_jpeg(root: Path) -> str:
    folder = write_frame_folder(root / 'corrupt', RAWFRAMES)
    (folder / 'img_00003.jpg').write_bytes(b'\xff\xd8\xff\xe0' + bytes(range(256)) * 4)
    return 'corrupt'


def _grayscale_jpeg(root: Path) -> str:
    folder = write_frame_folder(root / 'gray', RAWFRAMES)
    gray = cv2.imread(str(folder / 'img_00002.jpg'), cv2.IMREAD_GRAYSCALE)
    assert cv2.imwrite(str(folder / 'img_00002.jpg'), gray)
    assert cv2.imread(str(folder / 'img_00002.jpg'), cv2.IMREAD_UNCHANGED).ndim == 2
    return 'gray'


def _unicode_frames(root: Path) -> str:
    write_frame_folder(root / UNICODE_FRAMES, RAWFRAMES)
    return UNICODE_FRAMES


SAMPLE_FAULTS = [
    SampleFault('zero-byte video', 'videos', _zero_bytes, r'empty \(0 bytes\)'),
    # PyAV writes the MP4 index last: a cut file has none and cannot be opened at all
    *[SampleFault(f'truncated mp4 {int(f * 100)} % (index last)', 'videos', _truncated(f, False),
                  r'cannot open video|no video stream') for f in (0.1, 0.5, 0.9)],
    # "faststart" files carry the index first: they open, list every frame, then run dry
    *[SampleFault(f'truncated mp4 {int(f * 100)} % (index first)', 'videos', _truncated(f, True),
                  r'is truncated|no video frames') for f in (0.1, 0.5, 0.9)],
    SampleFault('random bytes named .mp4', 'videos', _random_bytes, r'cannot open video'),
    SampleFault('audio-only video', 'videos', _audio_only, r'no video stream.*audio'),
    SampleFault('wrong frame count in the header', 'videos', _lying_header, None),
    SampleFault('1-frame video', 'videos', _one_frame, None),
    SampleFault('video path with spaces and non-ASCII', 'videos', _unicode_video, None),
    SampleFault('frame folder with a gap', 'rawframes', _gap, r'not found: .*img_00004\.jpg'),
    SampleFault('corrupt JPEG', 'rawframes', _corrupt_jpeg, r'img_00003\.jpg'),
    SampleFault('grayscale JPEG in an RGB folder', 'rawframes', _grayscale_jpeg, None),
    SampleFault('frame folder path with spaces and non-ASCII', 'rawframes', _unicode_frames,
                None),
]


def _annotation_line(layout: str, path: str, label: int) -> str:
    """One annotation line; a path with spaces goes before a TAB (docs/internals.md)."""
    sep = '\t' if ' ' in path else ' '
    if layout == 'videos':
        return f'{path}{sep}{label}\n'
    return f'{path}{sep}{RAWFRAMES} {label}\n'


def _two_sample_set(root: Path, fault: SampleFault) -> tuple[Path, str]:
    """Write ``good`` + the faulty sample and their annotation list; return (list, bad path)."""
    root.mkdir(parents=True, exist_ok=True)
    if fault.layout == 'videos':
        write_clip(root / 'good.mp4')
        good = 'good.mp4'
    else:
        write_frame_folder(root / 'good', RAWFRAMES)
        good = 'good'
    bad = fault.make(root)
    ann_file = root / 'list.txt'
    ann_file.write_text(_annotation_line(fault.layout, good, 1)
                        + _annotation_line(fault.layout, bad, 2), encoding='utf-8')
    return ann_file, str(root / bad)


def _dataset(fault: SampleFault, ann_file: Path, root: Path,
             test_mode: bool) -> torch.utils.data.Dataset:
    if fault.layout == 'videos':
        cfg = dict(type='VideoDataset', pipeline=video_pipeline(test_mode))
    else:
        cfg = dict(type='RawframeDataset', pipeline=rawframe_pipeline(test_mode, RAWFRAMES))
    return build_dataset(dict(cfg, ann_file=str(ann_file), data_prefix=str(root),
                              test_mode=test_mode))


@pytest.mark.parametrize('fault', SAMPLE_FAULTS, ids=[slug(f.kind) for f in SAMPLE_FAULTS])
def test_bad_sample_raises_in_test_mode_and_is_set_aside_in_train_mode(
        tmp_path: Path, fault: SampleFault) -> None:
    root = tmp_path / 'data'
    ann_file, bad_path = _two_sample_set(root, fault)

    test_set = _dataset(fault, ann_file, root, test_mode=True)
    good = test_set[0]
    if fault.error is None:
        sample = test_set[1]
        assert sample['imgs'].shape == good['imgs'].shape
        assert torch.isfinite(sample['imgs']).all() and int(sample['label']) == 2
    else:
        with pytest.raises(DataError) as info:
            test_set[1]
        message = str(info.value)
        assert bad_path in message, f'the error does not name the file: {message}'
        assert re.search(fault.error, message), message
        assert info.value.path and bad_path in info.value.path  # the file, or a frame in it

    train_set = _dataset(fault, ann_file, root, test_mode=False)
    batches = list(build_dataloader(train_set, videos_per_gpu=2, workers_per_gpu=0,
                                    shuffle=False, seed=0))
    assert len(batches) == 1
    batch = batches[0]
    if fault.error is None:
        assert 'bad_samples' not in batch and batch['imgs'].shape[0] == 2
        return
    assert batch['imgs'].shape[0] == 1 and batch['label'].view(-1).tolist() == [1]
    (skipped,) = batch['bad_samples']
    assert isinstance(skipped, BadSample) and skipped.index == 1
    assert skipped.path and bad_path in skipped.path
    assert re.search(fault.error, skipped.reason), skipped.reason
    # the trainer's counter tolerates it within the ratio and stops the run beyond it
    counter = BadSampleCounter(max_ratio=0.5)
    counter.start_epoch(1, total=2)
    assert counter.take(dict(batch))['imgs'].shape[0] == 1 and counter.count == 1
    strict = BadSampleCounter(max_ratio=0.0)
    strict.start_epoch(1, total=2)
    with pytest.raises(RuntimeError, match=r'1 of the 2 samples.*max_bad_sample_ratio') as info:
        strict.take(dict(batch))
    assert skipped.path in str(info.value)


# ------------------------------------------------------------------------- every backend
_BACKENDS = ['PyAV', 'Decord', 'OpenCV']
_MUST_FAIL = ['zero-byte video', 'random bytes named .mp4', 'audio-only video',
              'truncated mp4 10 % (index last)', 'truncated mp4 50 % (index last)',
              'truncated mp4 90 % (index last)', 'truncated mp4 10 % (index first)',
              'truncated mp4 50 % (index first)', 'truncated mp4 90 % (index first)']
# Cuts that land inside the data of an index-first MP4 (48-frame clip): decord decodes up to
# the cut or raises, from one run to the next (its threaded decoder races the end of the
# data), so for decord the test accepts either outcome but no other.
_EITHER_CASES = {('truncated mp4 50 % (index first)', 'Decord'),
                 ('truncated mp4 90 % (index first)', 'Decord')}


def _backend_cases() -> list:
    cases = []
    faults = {f.kind: f for f in SAMPLE_FAULTS}
    for kind in _MUST_FAIL:
        for backend in _BACKENDS:
            cases.append(pytest.param(faults[kind], backend, id=f'{slug(kind)}-{backend}'))
    return cases


@pytest.mark.parametrize('fault,backend', _backend_cases())
def test_every_backend_refuses_a_broken_video(tmp_path: Path, fault: SampleFault,
                                              backend: str) -> None:
    path = str(tmp_path / fault.make(tmp_path))
    np.random.seed(0)  # train-mode sampling draws from numpy's global generator
    for test_mode in (True, False):
        pipeline = Compose(video_pipeline(test_mode, num_clips=8, backend=backend))
        sample = dict(filename=path, label=0, start_index=0, modality='RGB')
        if (fault.kind, backend) in _EITHER_CASES:
            try:
                assert pipeline(sample)['imgs'].shape[0] == 8
            except DataError as err:
                assert path in str(err)
            continue
        with pytest.raises(DataError) as info:
            pipeline(sample)
        assert path in str(info.value)


@pytest.mark.parametrize('backend', _BACKENDS)
def test_a_header_that_overstates_the_frame_count(tmp_path: Path, backend: str,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """The AVI says 60 frames, 20 exist. PyAV and decord count packets; OpenCV believes the
    header, so sampling reaches past the real end: those frames repeat the last real one, the
    count is corrected and a warning names the file. Nothing raises."""
    path = str(write_lying_avi(tmp_path / 'liar.avi', real_frames=20, claimed_frames=60))
    steps = video_pipeline(True, num_clips=6, backend=backend)[:3]  # Init, Sample, Decode
    with caplog.at_level('WARNING'):
        results = Compose(steps)(dict(filename=path, label=0, start_index=0, modality='RGB'))
    assert results['total_frames'] == 20
    inds = np.asarray(results['frame_inds']).reshape(-1)
    frames = results['imgs']
    last = Compose([dict(type='PyAVInit'), _fixed_indices([19]), dict(type='PyAVDecode')])(
        dict(filename=path, label=0, start_index=0, modality='RGB'))['imgs'][0]
    if backend == 'OpenCV':
        assert inds.max() >= 20, f'expected sampling past the real end, got {inds}'
        assert 'liar.avi' in caplog.text and 'ends after 20' in caplog.text
    else:
        assert inds.max() < 20, inds
    for index, frame in zip(inds, frames):
        if index >= 19:
            assert np.abs(frame.astype(int) - last).mean() < 3, f'frame {index}'


def _fixed_indices(indices: list[int]) -> Callable[[dict], dict]:
    def step(results: dict) -> dict:
        results['frame_inds'] = np.asarray(indices)
        return results
    return step


# ------------------------------------------------------------------------- 4K memory
@pytest.mark.slow
def test_a_4k_video_costs_the_frames_it_samples_not_the_whole_clip(tmp_path: Path) -> None:
    """Two frames of a 24-frame 3840x2160 clip go through PyAVInit/SampleFrames/PyAVDecode/
    Resize in a fresh process; its peak memory may grow by the two RGB frames it keeps, four
    decoder frames (YUV 4:2:0) and 32 MiB of slack: about 130 MiB, where the clip decoded whole
    would take 570 MiB."""
    num_frames, num_clips = 24, 2
    rgb, yuv = 3840 * 2160 * 3, 3840 * 2160 * 3 // 2
    bound = num_clips * rgb + 4 * yuv + 32 * 2**20
    assert bound < num_frames * rgb / 4, 'the bound would not tell a bounded decoder apart'
    clip = write_4k_clip(tmp_path / 'uhd.mp4', num_frames)
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).with_name('faults_4k_probe.py')), str(clip),
         str(num_clips)],
        capture_output=True, text=True, timeout=600, env=subprocess_env(), cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report['original_shape'] == [2160, 3840] and report['frames'] == num_clips
    assert report['frame_shape'] == [128, round(3840 * 128 / 2160), 3]
    assert 0 < report['rss_growth_bytes'] < bound, (
        f'decoding {num_clips} frames of a 4K clip raised the peak memory by '
        f'{report["rss_growth_bytes"] / 2**20:.0f} MiB; the bound is {bound / 2**20:.0f} MiB')


# ------------------------------------------------------------------------- a training run
_BAD_FOR_TRAINING = [_zero_bytes, _truncated(0.5, False), _truncated(0.5, True), _random_bytes,
                     _audio_only]


def _training_set(root: Path, good: int) -> tuple[Path, list[str]]:
    root.mkdir(parents=True)
    lines, bad_paths = [], []
    for index in range(good):
        write_clip(root / f'good_{index}.mp4', num_frames=8)
        lines.append(f'good_{index}.mp4 {index % 10}\n')
    for make in _BAD_FOR_TRAINING:
        name = make(root)
        bad_paths.append(str(root / name))
        lines.insert(2 * len(bad_paths), f'{name} 3\n')  # spread them over the batches
    (root / 'train.txt').write_text(''.join(lines))
    return root / 'train.txt', bad_paths


@pytest.mark.slow
def test_tools_train_skips_counts_and_names_bad_samples(tmp_path: Path) -> None:
    """``tools/train.py`` on 11 good clips and 5 broken ones: with
    ``data.max_bad_sample_ratio=0.5`` the epoch runs through, logging each broken file once
    and a summary; with 0.1 the run stops with a message naming the files."""
    ann_file, bad_paths = _training_set(tmp_path / 'data', good=11)
    train = load_tool('tools/train.py')

    config = write_config(tmp_path / 'tolerant.py', ann_file, tmp_path / 'data',
                          extra="data['max_bad_sample_ratio'] = 0.5")
    work_dir = tmp_path / 'tolerant'
    assert train.main([str(config), '--work-dir', str(work_dir), '--seed', '0']) == 0
    assert (work_dir / 'epoch_1.pth').is_file() and (work_dir / 'latest.pth').is_file()
    (log_file,) = work_dir.glob('*.log')
    log = log_file.read_text(encoding='utf-8')
    for path in bad_paths:
        reports = [line for line in log.splitlines()
                   if 'skipped a bad sample' in line and path in line]
        assert len(reports) == 1, f'{path} is not reported exactly once:\n{log}'
    assert re.search(r'epoch 1: 5 of 16 samples were bad and skipped', log), log

    config = write_config(tmp_path / 'strict.py', ann_file, tmp_path / 'data',
                          extra="data['max_bad_sample_ratio'] = 0.1")
    with pytest.raises(RuntimeError, match=r'of the 16 samples of epoch 1 could not be loaded, '
                                           r'more than data\.max_bad_sample_ratio=0\.1') as info:
        train.main([str(config), '--work-dir', str(tmp_path / 'strict'), '--seed', '0'])
    assert any(path in str(info.value) for path in bad_paths)
