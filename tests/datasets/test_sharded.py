"""Tar shards (``actionkit data shard``) and the streaming datasets over them.

The fixture set has 10 tiny videos whose label is their index in the list, so a batch's labels
say which samples it holds; ``--shard-size 3`` makes shards of 3, 3, 3 and 1 samples.
"""
from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from actionkit.datasets import build_dataset
from actionkit.datasets.builder import build_dataloader
from actionkit.datasets.loader import ReportingDataLoader, collate
from actionkit.datasets.prep.shards import parse_size, write_shards
from actionkit.datasets.shard_layout import (consumed, rank_block, worker_span, yield_order)
from actionkit.engine.dist import _interleave
from actionkit.errors import AnnotationError, BadSample, DataError

NUM = 10


def _pipeline(flip: bool = False) -> list[dict]:
    steps = [dict(type='PyAVInit'), dict(type='SampleFrames', clip_len=1, frame_interval=1,
                                          num_clips=1, test_mode=not flip),
             dict(type='PyAVDecode')]
    if flip:
        steps.append(dict(type='Flip', flip_ratio=0.5))
    return steps + [dict(type='FormatShape', input_format='NCTHW'),
                    dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
                    dict(type='ToTensor', keys=['imgs', 'label'])]


def _video(path: Path, seed: int) -> None:
    from actionkit.datasets.prep.video_io import write_video

    rng = np.random.default_rng(seed)
    write_video(path, rng.integers(0, 255, (4, 16, 16, 3), dtype=np.uint8), gop=2)


@pytest.fixture(scope='module')
def video_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp('sharded')
    (root / 'videos').mkdir()
    for index in range(NUM):
        _video(root / 'videos' / f'v{index}.mp4', index)
    (root / 'list.txt').write_text(''.join(f'v{i}.mp4 {i}\n' for i in range(NUM)))
    write_shards(root / 'list.txt', root / 'videos', root / 'shards', shard_size=3)
    return root


def _dataset(root: Path, test_mode: bool = True, **kwargs: object) -> object:
    return build_dataset(dict(type='ShardedVideoDataset', ann_file=str(root / 'shards' /
                                                                       'index.json'),
                              pipeline=_pipeline(flip=not test_mode), test_mode=test_mode,
                              **kwargs))


def _labels(loader: object) -> list[int]:
    return [int(v) for batch in loader for v in batch['label'].flatten()]


def _rank_loader(dataset: object, rank: int, world: int, workers: int, batch: int,
                 shuffle: bool = False, seed: int = 0) -> ReportingDataLoader:
    dataset.configure_loader(rank, world, workers, batch, shuffle, seed)
    return ReportingDataLoader(dataset, batch_size=batch, num_workers=workers,
                               collate_fn=collate)


# ---------------------------------------------------------------------------- the layout
def test_rank_blocks_and_worker_spans_by_hand() -> None:
    # 10 samples over 3 ranks: 4 positions each; ranks 1 and 2 hold 3 real samples + a pad
    assert [rank_block(10, 3, r) for r in range(3)] == [(0, 4, 4), (4, 3, 4), (7, 3, 4)]
    assert [rank_block(4, 2, r) for r in range(2)] == [(0, 2, 2), (2, 2, 2)]
    # 5 positions, batches of 2 (3 batches), 2 workers: worker 0 one batch, worker 1 two
    assert [worker_span(5, 2, 2, w) for w in range(2)] == [(0, 2), (2, 5)]
    assert yield_order(5, 2, 2) == [0, 1, 2, 3, 4]
    # batches of 1 over 2 workers: the DataLoader alternates workers
    assert yield_order(6, 1, 2) == [0, 3, 1, 4, 2, 5]
    assert consumed(6, 1, 2, 3) == [2, 1]
    assert consumed(5, 2, 2, 2) == [2, 2]
    assert yield_order(5, 2, 2, drop_last=True) == [0, 1, 2, 3]


# ---------------------------------------------------------------------------- the writer
def test_shards_hold_the_list_in_webdataset_layout(video_set: Path) -> None:
    index = json.loads((video_set / 'shards' / 'index.json').read_text())
    assert [s['num_samples'] for s in index['shards']] == [3, 3, 3, 1]
    assert (index['kind'], index['num_samples'], index['labels']) == ('videos', 10,
                                                                     list(range(10)))
    with tarfile.open(video_set / 'shards' / 'shard-000001.tar') as tar:
        names = tar.getnames()
        meta = json.loads(tar.extractfile('000000003.json').read())
        data = tar.extractfile('000000003.mp4').read()
    assert names == [f'00000000{i}.{ext}' for i in (3, 4, 5) for ext in ('json', 'cls', 'mp4')]
    assert meta == {'filename': 'v3.mp4', 'label': 3, 'line': 4}
    assert data == (video_set / 'videos' / 'v3.mp4').read_bytes()


def test_max_bytes_groups_and_sizes(video_set: Path, tmp_path: Path) -> None:
    one = (video_set / 'videos' / 'v0.mp4').stat().st_size
    per_sample = one + 1536 + 2048  # the writer's estimate of a sample's tar bytes
    write_shards(video_set / 'list.txt', video_set / 'videos', tmp_path / 'out',
                 max_bytes=4 * per_sample + 10)
    index = json.loads((tmp_path / 'out' / 'index.json').read_text())
    sizes = [s['num_samples'] for s in index['shards']]
    assert sum(sizes) == 10 and max(sizes) <= 4 and sizes[0] >= 3
    assert parse_size('256M') == 256 << 20 and parse_size('1024') == 1024
    with pytest.raises(ValueError, match='positive size'):
        parse_size('0')


def test_bad_input_is_refused_with_file_and_line(video_set: Path, tmp_path: Path) -> None:
    ann = tmp_path / 'list.txt'
    ann.write_text('v0.mp4 0\n\nmissing.mp4 1\n')  # a blank line: the record is on line 3
    with pytest.raises(AnnotationError, match=r'list\.txt:3: video file not found: .*missing'):
        write_shards(ann, video_set / 'videos', tmp_path / 'out')
    assert not (tmp_path / 'out').exists()
    ann.write_text('v0.mp4 zero\n')
    with pytest.raises(AnnotationError, match=r'list\.txt:1'):
        write_shards(ann, video_set / 'videos', tmp_path / 'out')
    # a folder with shards in it is never written into
    taken = tmp_path / 'taken'
    taken.mkdir()
    (taken / 'shard-000000.tar').write_bytes(b'mine')
    ann.write_text('v0.mp4 0\n')
    with pytest.raises(ValueError, match='already holds shards'):
        write_shards(ann, video_set / 'videos', taken)
    assert (taken / 'shard-000000.tar').read_bytes() == b'mine'


def test_the_command_line(video_set: Path, tmp_path: Path) -> None:
    from actionkit.cli import main

    status = main(['data', 'shard', str(video_set / 'list.txt'), str(video_set / 'videos'),
                   str(tmp_path / 'out'), '--max-bytes', '1M'])
    assert status == 0
    index = json.loads((tmp_path / 'out' / 'index.json').read_text())
    assert [s['name'] for s in index['shards']] == ['shard-000000.tar']


# ---------------------------------------------------------------------------- reading
def test_samples_decode_like_the_video_files(video_set: Path) -> None:
    sharded = list(_dataset(video_set))
    plain = build_dataset(dict(type='VideoDataset', ann_file=str(video_set / 'list.txt'),
                               data_prefix=str(video_set / 'videos'), pipeline=_pipeline(),
                               test_mode=True))
    assert len(sharded) == 10
    for index, sample in enumerate(sharded):
        assert int(sample['label']) == index
        assert torch.equal(sample['imgs'], plain[index]['imgs'])


@pytest.mark.parametrize('backend', ['Decord', 'OpenCV', 'TorchCodec'])
def test_every_video_backend_reads_shards(tmp_path: Path, backend: str) -> None:
    # a shard sample is an in-memory file (memfd on Linux) opened by path, so the readers of
    # other libraries read it as a file on disk. 64x48 clips: decord fails on 16x16 ones
    from actionkit.datasets.pipelines.decoders.decord_reader import _import_decord
    from actionkit.datasets.pipelines.decoders.torchcodec_reader import _import_video_decoder
    from actionkit.datasets.prep.video_io import write_video

    need = dict(Decord=_import_decord, TorchCodec=_import_video_decoder).get(backend)
    try:
        if need is not None:
            need()
    except ImportError as err:
        pytest.skip(f'{backend}: {str(err)[:120]}')
    (tmp_path / 'videos').mkdir()
    for index in range(4):
        write_video(tmp_path / 'videos' / f'v{index}.mp4', np.random.default_rng(index).integers(
            0, 255, (6, 48, 64, 3), dtype=np.uint8), gop=2)
    (tmp_path / 'list.txt').write_text(''.join(f'v{i}.mp4 {i}\n' for i in range(4)))
    write_shards(tmp_path / 'list.txt', tmp_path / 'videos', tmp_path / 'shards', shard_size=3)
    samples = {}
    for name in ('PyAV', backend):
        pipeline = _pipeline()
        pipeline[0], pipeline[2] = dict(type=f'{name}Init'), dict(type=f'{name}Decode')
        samples[name] = [sample['imgs'] for sample in build_dataset(dict(
            type='ShardedVideoDataset', ann_file=str(tmp_path / 'shards' / 'index.json'),
            pipeline=pipeline, test_mode=True))]
    assert len(samples[backend]) == 4
    assert all(torch.equal(a, b) for a, b in zip(samples[backend], samples['PyAV']))


@pytest.mark.parametrize('workers, batch, expected', [
    # rank blocks 0-3, 4-6 + pad 7, 7-9 + pad 0 (see test_rank_blocks_... by hand)
    (0, 2, [[0, 1, 2, 3], [4, 5, 6, 7], [7, 8, 9, 0]]),
    # batches of 1 over 2 workers: worker 0 has block positions 0-1, worker 1 2-3
    (2, 1, [[0, 2, 1, 3], [4, 6, 5, 7], [7, 9, 8, 0]]),
])
def test_test_mode_split_over_ranks_and_workers(video_set: Path, workers: int, batch: int,
                                                expected: list) -> None:
    dataset = _dataset(video_set)
    parts = [_labels(_rank_loader(dataset, rank, 3, workers, batch)) for rank in range(3)]
    assert parts == expected
    # the distributed collection (interleave, cut at the size) then restore_order: each
    # sample exactly once, in the index's order
    gathered = _interleave(parts, len(dataset))
    assert dataset.restore_order(gathered) == list(range(10))


def test_training_order_is_seeded_by_epoch(video_set: Path) -> None:
    dataset = _dataset(video_set, test_mode=False, shuffle_buffer=3)

    def epoch(number: int, seed: int = 0) -> list[list[int]]:
        dataset.set_epoch(number)
        return [_labels(_rank_loader(dataset, rank, 2, 2, 2, shuffle=True, seed=seed))
                for rank in range(2)]

    first = epoch(0)
    assert epoch(0) == first  # the same seed and epoch: the same order
    assert epoch(1) != first and epoch(0, seed=1) != first
    for order in (first, epoch(1)):
        assert all(len(part) == 5 for part in order)  # 10 samples, 2 ranks: no padding
        assert sorted(order[0] + order[1]) == list(range(10))  # no overlap, nothing left out
    assert first[0] + first[1] != list(range(10))


def test_resume_at_goes_on_with_the_same_sequence(video_set: Path) -> None:
    dataset = _dataset(video_set, test_mode=False, shuffle_buffer=3)
    dataset.set_epoch(2)
    full = list(_rank_loader(dataset, 0, 1, 2, 2, True, 5))
    assert len(full) == 5
    state = dataset.loader_state(2)
    assert state['samples_consumed'] == [2, 2]  # worker 0's first batch, then worker 1's
    other = _dataset(video_set, test_mode=False, shuffle_buffer=3)
    other.set_epoch(2)
    loader = _rank_loader(other, 0, 1, 2, 2, True, 5)
    other.resume_at(state)
    rest = list(loader)
    assert [b['label'].tolist() for b in rest] == [b['label'].tolist() for b in full[2:]]
    # the same clips, flipped or not and sampled at the same frame: random transforms are
    # seeded per sample, not by how many samples the worker ran before
    assert all(torch.equal(a['imgs'], b['imgs']) for a, b in zip(rest, full[2:]))
    with pytest.raises(ValueError, match=r'num_workers 2 -> 0'):
        _rank_loader(_dataset(video_set, test_mode=False, shuffle_buffer=3), 0, 1, 0, 2,
                     True, 5).dataset.resume_at(state)


def test_a_bad_sample_is_skipped_in_training_and_raises_in_test(video_set: Path,
                                                                tmp_path: Path) -> None:
    videos = tmp_path / 'videos'
    videos.mkdir()
    for index in range(3):
        (videos / f'v{index}.mp4').write_bytes((video_set / 'videos' /
                                                f'v{index}.mp4').read_bytes())
    (videos / 'v1.mp4').write_bytes(b'not a video at all' * 10)
    (tmp_path / 'list.txt').write_text('v0.mp4 0\nv1.mp4 1\nv2.mp4 2\n')
    write_shards(tmp_path / 'list.txt', videos, tmp_path / 'shards')
    train = _dataset(tmp_path, test_mode=False, shuffle_buffer=1)
    batch = next(iter(build_dataloader(train, videos_per_gpu=3, workers_per_gpu=0, seed=0)))
    assert batch['label'].flatten().tolist() in ([0, 2], [2, 0])
    bad, = batch['bad_samples']
    assert isinstance(bad, BadSample) and bad.index == 1
    assert bad.path == 'shard-000000.tar:v1.mp4' and '/proc/self' not in bad.reason
    with pytest.raises(DataError, match=r'shard-000000\.tar:v1\.mp4'):
        list(_dataset(tmp_path))


def test_rawframe_shards_read_like_the_folders(tmp_path: Path) -> None:
    import cv2

    rng = np.random.default_rng(0)
    for clip in range(2):
        folder = tmp_path / 'frames' / f'clip{clip}'
        folder.mkdir(parents=True)
        for frame in range(1, 4):
            cv2.imwrite(str(folder / f'img_{frame:05}.jpg'),
                        rng.integers(0, 255, (8, 8, 3), dtype=np.uint8))
    (tmp_path / 'list.txt').write_text('clip0 3 1\nclip1 3 0\n')
    write_shards(tmp_path / 'list.txt', tmp_path / 'frames', tmp_path / 'shards',
                 rawframes=True)
    pipeline = [dict(type='SampleFrames', clip_len=3, frame_interval=1, num_clips=1,
                     test_mode=True), dict(type='RawFrameDecode'),
                dict(type='FormatShape', input_format='NCTHW'),
                dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
                dict(type='ToTensor', keys=['imgs', 'label'])]
    sharded = list(build_dataset(dict(type='ShardedRawframeDataset', test_mode=True,
                                      shards=str(tmp_path / 'shards' / 'index.json'),
                                      pipeline=pipeline)))
    plain = build_dataset(dict(type='RawframeDataset', ann_file=str(tmp_path / 'list.txt'),
                               data_prefix=str(tmp_path / 'frames'), pipeline=pipeline,
                               test_mode=True))
    assert [int(s['label']) for s in sharded] == [1, 0]
    for index in range(2):
        assert torch.equal(sharded[index]['imgs'], plain[index]['imgs'])
    with pytest.raises(ValueError, match='indexes rawframes shards; ShardedVideoDataset'):
        build_dataset(dict(type='ShardedVideoDataset', pipeline=[],
                           ann_file=str(tmp_path / 'shards' / 'index.json')))


def test_a_broken_shard_gives_bad_samples_in_training_and_raises_in_test(
        video_set: Path, tmp_path: Path) -> None:
    import shutil

    shutil.copytree(video_set / 'shards', tmp_path / 'shards')
    cut = tmp_path / 'shards' / 'shard-000001.tar'  # samples 3, 4, 5
    with tarfile.open(cut) as tar:
        inside = tar.getmember('000000004.mp4').offset_data + 100
    cut.write_bytes(cut.read_bytes()[:inside])  # 3 whole, then cut inside sample 4's video
    (tmp_path / 'shards' / 'shard-000003.tar').unlink()  # sample 9
    train = _dataset(tmp_path, test_mode=False, shuffle_buffer=1)
    train.configure_loader(0, 1, 0, 10, False, 0)
    samples = list(train)
    assert len(samples) == 10  # every position still there: ranks stay in step
    bad = {s.index: s for s in samples if isinstance(s, BadSample)}
    assert sorted(bad) == [4, 5, 9]
    assert 'shard-000001.tar is not a readable tar file' in bad[4].reason
    assert bad[9].path == 'shard-000003.tar' and 'cannot open shard' in bad[9].reason
    assert [int(s['label']) for s in samples if not isinstance(s, BadSample)] == \
        [0, 1, 2, 3, 6, 7, 8]
    with pytest.raises(DataError, match=r'shard-000001\.tar is not a readable tar file'):
        list(_dataset(tmp_path))


class _LabelAsScore(torch.nn.Module):
    """Scores a batch with its labels, so the gathered results say which sample each was."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))

    def forward(self, imgs: torch.Tensor, label: torch.Tensor, return_loss: bool = False
                ) -> list:
        return [int(v) for v in label.flatten()]


def _two_ranks(index: str, out: str) -> None:
    from actionkit.engine import get_dist_info
    from actionkit.engine.evaluate import predict

    rank, _ = get_dist_info()
    test = build_dataset(dict(type='ShardedVideoDataset', ann_file=index, pipeline=_pipeline(),
                              test_mode=True))
    results = predict(_LabelAsScore(), build_dataloader(test, videos_per_gpu=2,
                                                        workers_per_gpu=2, dist=True,
                                                        shuffle=False))
    train = build_dataset(dict(type='ShardedVideoDataset', ann_file=index, shuffle_buffer=3,
                               pipeline=_pipeline(flip=True)))
    loader = build_dataloader(train, videos_per_gpu=2, workers_per_gpu=0, dist=True, seed=4)
    train.set_epoch(1)
    part = _labels(loader)
    Path(out, f'rank{rank}.json').write_text(json.dumps(dict(results=results, train=part,
                                                             batches=len(loader))))


@pytest.mark.slow
def test_two_processes_test_in_index_order_and_train_without_overlap(video_set: Path,
                                                                     tmp_path: Path) -> None:
    from actionkit.engine import launch

    launch(_two_ranks, nprocs=2, args=(str(video_set / 'shards' / 'index.json'),
                                       str(tmp_path)), timeout=120)
    ranks = [json.loads((tmp_path / f'rank{r}.json').read_text()) for r in range(2)]
    assert ranks[0]['results'] == list(range(10)) and ranks[1]['results'] is None
    assert [r['batches'] for r in ranks] == [3, 3]  # 5 samples a rank, batches of 2
    assert sorted(ranks[0]['train'] + ranks[1]['train']) == list(range(10))


def test_a_bad_index_is_refused_naming_it(video_set: Path, tmp_path: Path) -> None:
    index = json.loads((video_set / 'shards' / 'index.json').read_text())
    path = tmp_path / 'index.json'
    for change, message in ((dict(num_samples=11), r'"num_samples" is 11 but the shards hold 10'),
                            (dict(format='webdataset'), 'not an index of actionkit-shards'),
                            (dict(labels=[0]), r'"labels" must list the 10 samples'),
                            (dict(shards=[dict(name='../x.tar', num_samples=10)]),
                             r'shards\[0\]: a shard name is a plain file name')):
        path.write_text(json.dumps({**index, **change}))
        with pytest.raises(ValueError, match=f'index.json: {message}'):
            build_dataset(dict(type='ShardedVideoDataset', ann_file=str(path), pipeline=[]))
    path.write_text('{not json')
    with pytest.raises(ValueError, match='index.json: not a JSON shard index'):
        build_dataset(dict(type='ShardedVideoDataset', ann_file=str(path), pipeline=[]))
    with pytest.raises(ValueError, match='exactly one of them'):
        build_dataset(dict(type='ShardedVideoDataset', pipeline=[]))


def test_multi_label_samples(video_set: Path, tmp_path: Path) -> None:
    (tmp_path / 'list.txt').write_text('v0.mp4 1 3\nv1.mp4 2\n')
    index = write_shards(tmp_path / 'list.txt', video_set / 'videos', tmp_path / 'shards',
                         multi_class=True)
    assert index['labels'] == [[1, 3], [2]]
    dataset = _dataset(tmp_path, multi_class=True, num_classes=4)
    assert [s['label'].tolist() for s in dataset] == [[0, 1, 0, 1], [0, 0, 1, 0]]
    with pytest.raises(AnnotationError, match=r'sample 0: label 3 is out of range for '
                                              r'num_classes=3'):
        dataset.check_label_range(3)


class _NoSeek(io.RawIOBase):
    """A stream that can only be read front to back, as a plain HTTP / object-store GET."""

    def __init__(self, path: str) -> None:
        self._file = open(path, 'rb')  # noqa: SIM115 - closed with this stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:
        return self._file.readinto(buffer)

    def seekable(self) -> bool:
        return False

    def seek(self, *args: object) -> int:
        raise io.UnsupportedOperation('seek')

    def tell(self) -> int:
        raise io.UnsupportedOperation('tell')

    def close(self) -> None:
        self._file.close()
        super().close()


def test_shards_are_read_front_to_back_without_seeking(video_set: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from actionkit.datasets import shard_format

    opened: list[str] = []

    def open_stream(path: str) -> _NoSeek:
        opened.append(Path(path).name)
        return _NoSeek(path)

    monkeypatch.setattr(shard_format, '_open_shard', open_stream)
    dataset = _dataset(video_set)
    dataset.configure_loader(1, 2, 0, 1, False, 0)  # rank 1 of 2: samples 5-9
    assert [int(s['label']) for s in dataset] == [5, 6, 7, 8, 9]
    # it opens only the shards of its block: 5 is in the second shard (3-5)
    assert opened == ['shard-000001.tar', 'shard-000002.tar', 'shard-000003.tar']
