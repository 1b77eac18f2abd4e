"""Bytes read per clip and clips/s: local disk against an S3 API on 127.0.0.1.

Starts moto's S3 server (``pip install 'actionkit[test]'``) as a separate process on a free
port, uploads the videos, and runs ``PyAVInit -> SampleFrames -> PyAVDecode`` over them from
the local files and from ``s3://`` (ranged reads through ``actionkit.utils.fileio``), for two
sampling patterns. Local bytes are the ``rchar`` of ``/proc/self/io`` (every byte the process
read); remote bytes are what the reader fetched over HTTP.

    python benchmarks/remote_read.py [--videos DIR] [--repeats 3] [--block-sizes 262144,65536]

The videos default to the real clips in ``../shared/data/mmaction2`` (H.264 / MPEG-4), whose
GOPs are long (1 to 4 keyframes per clip, so any clip spread over the video decodes nearly all
of it); ``--short-gop N`` adds N generated 300-frame 340x256 clips with a keyframe every 30
frames, where a clip needs only the GOPs of its frames.
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from actionkit.datasets.pipelines.decoders.synthetic import write_video
from actionkit.datasets.pipelines.decoding import PyAVDecode, PyAVInit
from actionkit.datasets.pipelines.sampling import SampleFrames

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VIDEOS = REPO.parent / 'shared' / 'data' / 'mmaction2'
PATTERNS = {
    'TSN 1x1x8 (8 frames spread)': dict(clip_len=1, frame_interval=1, num_clips=8),
    'I3D 32x2x1 (32 frames, one window)': dict(clip_len=32, frame_interval=2, num_clips=1),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _rchar() -> int:
    with open('/proc/self/io', encoding='ascii') as fin:
        return next(int(line.split()[1]) for line in fin if line.startswith('rchar'))


def _start_moto() -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, '-m', 'moto.server', '-H', '127.0.0.1', '-p',
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f'http://127.0.0.1:{port}'
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            return proc, endpoint
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError('moto server did not start in 60 s')


def _upload(endpoint: str, videos: list[Path], root: Path) -> list[str]:
    import boto3
    client = boto3.client('s3', endpoint_url=endpoint, region_name='us-east-1')
    if 'bench' not in {b['Name'] for b in client.list_buckets().get('Buckets', [])}:
        client.create_bucket(Bucket='bench')
    urls = []
    for path in videos:
        key = f'videos/{root.name}/{path.relative_to(root).as_posix()}'
        client.put_object(Bucket='bench', Key=key, Body=path.read_bytes())
        urls.append(f's3://bench/{key}')
    return urls


def _run(sources: list[str], pattern: dict, repeats: int) -> dict[str, float]:
    init, decode = PyAVInit(), PyAVDecode()
    sample = SampleFrames(test_mode=True, **pattern)
    clips = fetched = 0
    rchar, wall, cpu = _rchar(), time.perf_counter(), time.process_time()
    for _ in range(repeats):
        for source in sources:
            results = init({'filename': source, 'start_index': 0})
            reader = results['video_reader']
            results = decode(sample(results))
            assert results['imgs'] and np.asarray(results['imgs'][0]).ndim == 3
            fetched += reader.bytes_fetched
            clips += 1
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    read = fetched if fetched else _rchar() - rchar
    return dict(clips=clips, clips_per_s=clips / wall, cpu_ms=1000 * cpu / clips,
                kib_per_clip=read / clips / 1024)


def _measure(set_name: str, videos: list[Path], urls: list[str], args: argparse.Namespace) -> None:
    size = sum(p.stat().st_size for p in videos) / len(videos) / 1024
    sources: list[tuple] = [('local disk', [str(v) for v in videos])]
    for block in args.block_sizes.split(','):
        sources.append((f's3:// (moto), {int(block) // 1024} KiB blocks', urls, int(block)))
    for name, pattern in PATTERNS.items():
        _run(urls[:1], pattern, 1)  # warm up the client and the codecs
        for label, paths, *block in sources:
            if block:
                os.environ['ACTIONKIT_IO_BLOCK_SIZE'] = str(block[0])
            row = _run(paths, pattern, args.repeats)
            print(f'| {len(videos)} {set_name}, {size:.0f} KiB each | {name} | {label} | '
                  f'{row["clips"]} | {row["clips_per_s"]:.1f} | {row["cpu_ms"]:.0f} | '
                  f'{row["kib_per_clip"]:.0f} |')


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--videos', type=Path, default=DEFAULT_VIDEOS)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--short-gop', type=int, default=4,
                        help='generated short-GOP clips to measure as a second set (0: none)')
    parser.add_argument('--block-sizes', default='262144,65536',
                        help='ACTIONKIT_IO_BLOCK_SIZE values to measure (bytes, comma-separated)')
    args = parser.parse_args(argv)
    videos = sorted(p for p in args.videos.rglob('*') if p.suffix in ('.mp4', '.avi'))
    if not videos:
        raise SystemExit(f'no .mp4/.avi under {args.videos}')
    os.environ.setdefault('AWS_ACCESS_KEY_ID', 'bench')
    os.environ.setdefault('AWS_SECRET_ACCESS_KEY', 'bench')
    os.environ.setdefault('AWS_DEFAULT_REGION', 'us-east-1')
    proc, endpoint = _start_moto()
    try:
        os.environ['AWS_ENDPOINT_URL'] = endpoint
        with tempfile.TemporaryDirectory() as tmp:
            sets = [('shared clips', videos, args.videos)]
            if args.short_gop:
                made = [Path(write_video(Path(tmp) / f'gop30_{i}.mp4', num_frames=300,
                                         width=340, height=256, gop=30, bframes=2))
                        for i in range(args.short_gop)]
                sets.append(('short-GOP clips', made, Path(tmp)))
            print(f'load before: {Path("/proc/loadavg").read_text().strip()}')
            print('| videos | pattern | source | clips | clips/s | CPU ms/clip | KiB read/clip |')
            print('| --- | --- | --- | --- | --- | --- | --- |')
            for set_name, files, root in sets:
                _measure(set_name, files, _upload(endpoint, files, root), args)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(f'load after: {Path("/proc/loadavg").read_text().strip()}')


if __name__ == '__main__':
    main()
