"""Clips per second and CPU per clip: many small video files vs. tar shards, 1/2/N workers.

For each source x worker count, one training epoch is loaded through ``build_dataloader``
(no model): the clips/s of wall-clock time, the CPU seconds per clip of the main process and
its loader workers together (``getrusage`` of this process and its reaped children), and each
worker's resident memory (``VmRSS`` from ``/proc``), sampled every ``--rss-every`` batches, to
show it stays flat while the workers stream shard after shard.

Sources:

* ``files``: ``VideoDataset`` over the video files (one open per clip);
* ``shards``: ``ShardedVideoDataset`` over the same videos written by ``actionkit data shard``
  (``--shard-size`` videos a shard), read from the local disk;
* ``remote``: with ``--shard-url PREFIX`` (e.g. ``http://127.0.0.1:9000/bucket/shards``, a
  store holding a copy of the shard folder), the same shards read from there.

The videos are synthetic H.264 clips (``--size``, ``--frames``, a keyframe every 12 frames),
written once under ``--root`` (kept, and reused by a later run with the same arguments). The
page cache is warm (the files were just written or read): this measures the loader, not the
disk. The pipeline is TSN's training one (3 segments, RandomResizedCrop, 112 px, Flip,
Normalize).

Run:
    python benchmarks/shards.py --workers 1 2 4            # ~2 minutes on 2 busy cores
    python benchmarks/shards.py --shard-url http://127.0.0.1:9000/b/shards
    python benchmarks/shards.py --moto     # starts moto's S3 server, uploads the shards there
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_bgr=False)
PIPELINE = [
    dict(type='PyAVInit'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=3),
    dict(type='PyAVDecode'),
    dict(type='RandomResizedCrop'),
    dict(type='Resize', scale=(112, 112), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='Normalize', **NORM),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs', 'label']),
]


def make_data(root: Path, num: int, size: tuple[int, int], frames: int,
              shard_size: int) -> tuple[Path, Path]:
    """The videos, their list and their shards under ``root`` (made once)."""
    import numpy as np

    from actionkit.datasets.prep.shards import write_shards
    from actionkit.datasets.prep.video_io import write_video

    videos, ann = root / 'videos', root / 'list.txt'
    index = root / 'shards' / 'index.json'
    if index.is_file():
        return ann, index
    videos.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    height, width = size
    for i in range(num):
        path = videos / f'clip{i:05d}.mp4'
        if not path.is_file():  # moving noise blocks: compressible, not trivial
            base = rng.integers(0, 255, (height // 8, width // 8, 3), dtype=np.uint8)
            clip = [np.kron(np.roll(base, t, axis=1), np.ones((8, 8, 1), np.uint8))
                    for t in range(frames)]
            write_video(path, np.stack(clip), gop=12)
    ann.write_text(''.join(f'clip{i:05d}.mp4 {i % 10}\n' for i in range(num)))
    write_shards(ann, videos, index.parent, shard_size=shard_size)
    return ann, index


def _rss_kib(pid: int) -> int:
    try:
        with open(f'/proc/{pid}/status') as fin:
            for line in fin:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), \
        resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(cfg: dict, workers: int, batch: int, rss_every: int) -> dict:
    """One epoch of ``cfg``'s dataset through a training loader."""
    from actionkit.datasets import build_dataset
    from actionkit.datasets.builder import build_dataloader

    dataset = build_dataset(cfg)
    loader = build_dataloader(dataset, videos_per_gpu=batch, workers_per_gpu=workers, seed=0)
    cpu0, wall0 = _cpu_seconds(), time.perf_counter()
    clips, rss = 0, []
    iterator = iter(loader)
    pids = [w.pid for w in getattr(iterator, '_workers', [])]
    for number, batch_data in enumerate(iterator):
        clips += len(batch_data['label'])
        if number % rss_every == 0:
            sample = [_rss_kib(pid) // 1024 for pid in pids] or [_rss_kib(os.getpid()) // 1024]
            rss.append([value for value in sample if value])  # 0: a worker that has finished
    del iterator  # joins the workers, so their CPU time is counted
    wall, cpu = time.perf_counter() - wall0, _cpu_seconds() - cpu0
    return dict(clips=clips, clips_per_s=clips / wall, cpu_ms_per_clip=1000 * cpu / clips,
                rss_mib=rss)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--root', default='/tmp/actionkit_shards_bench', help='data folder')
    parser.add_argument('--num-videos', type=int, default=240)
    parser.add_argument('--size', type=int, nargs=2, default=(128, 176), metavar=('H', 'W'))
    parser.add_argument('--frames', type=int, default=48)
    parser.add_argument('--shard-size', type=int, default=40, help='videos a shard')
    parser.add_argument('--workers', type=int, nargs='+', default=[1, 2, 4])
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--rss-every', type=int, default=5, help='batches between RSS samples')
    parser.add_argument('--shard-url', default=None,
                        help='URL prefix of a copy of the shard folder on an object store')
    parser.add_argument('--moto', action='store_true',
                        help="start moto's S3 server on 127.0.0.1, copy the shards there and "
                             'read them as s3://bench/shards (needs the test extra)')
    parser.add_argument('--json', default=None, help='also write the results here')
    args = parser.parse_args(argv)
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    ann, index = make_data(Path(args.root), args.num_videos, tuple(args.size), args.frames,
                           args.shard_size)
    sources = {'files': dict(type='VideoDataset', ann_file=str(ann),
                             data_prefix=str(ann.parent / 'videos'), pipeline=PIPELINE),
               'shards': dict(type='ShardedVideoDataset', ann_file=str(index),
                              pipeline=PIPELINE, shuffle_buffer=16)}
    moto = None
    if args.moto:
        moto, args.shard_url = _shards_on_moto(index.parent)
    if args.shard_url:
        sources['remote'] = dict(sources['shards'], data_prefix=args.shard_url)
    with open('/proc/loadavg') as fin:
        print(f'load average before: {fin.read().strip()}; {os.cpu_count()} CPUs')
    print(f'{"source":8s} {"workers":>7s} {"clips":>6s} {"clips/s":>8s} {"CPU ms/clip":>11s}  '
          'worker RSS MiB (first -> last sample, max)')
    results = []
    for workers in args.workers:
        for name, cfg in sources.items():
            row = measure(cfg, workers, args.batch, args.rss_every)
            row.update(source=name, workers=workers)
            results.append(row)
            first, last = row['rss_mib'][0], row['rss_mib'][-1]
            peak = max(max(sample, default=0) for sample in row['rss_mib'])
            print(f'{name:8s} {workers:7d} {row["clips"]:6d} {row["clips_per_s"]:8.1f} '
                  f'{row["cpu_ms_per_clip"]:11.1f}  {first} -> {last}, max {peak}', flush=True)
    with open('/proc/loadavg') as fin:
        print(f'load average after: {fin.read().strip()}')
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    if moto is not None:
        moto.kill()
    return 0


def _shards_on_moto(folder: Path):
    """Start moto (remote_read.py's way), upload ``folder``'s shards, return (process, URL)."""
    import importlib.util

    import boto3
    spec = importlib.util.spec_from_file_location('remote_read', REPO / 'benchmarks' /
                                                  'remote_read.py')
    remote_read = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(remote_read)
    proc, endpoint = remote_read._start_moto()
    for name, value in (('AWS_ACCESS_KEY_ID', 'bench'), ('AWS_SECRET_ACCESS_KEY', 'bench'),
                        ('AWS_DEFAULT_REGION', 'us-east-1')):
        os.environ.setdefault(name, value)
    os.environ['AWS_ENDPOINT_URL'] = endpoint
    client = boto3.client('s3', endpoint_url=endpoint, region_name='us-east-1')
    client.create_bucket(Bucket='bench')
    for path in sorted(folder.glob('*.tar')):
        client.put_object(Bucket='bench', Key=f'shards/{path.name}', Body=path.read_bytes())
    return proc, 's3://bench/shards'


if __name__ == '__main__':
    sys.exit(main())
