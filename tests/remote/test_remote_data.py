"""Datasets, decoders and checkpoints reading from a real S3 API (moto on 127.0.0.1).

Every remote result is compared with the same read from the local copy of the same bytes.
"""
from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from actionkit.datasets import build_dataset
from actionkit.datasets.annotations import load_video_list
from actionkit.datasets.errors import DataError
from actionkit.datasets.pipelines.decoders import open_video
from actionkit.datasets.pipelines.decoders.remote_index import mov_frame_table
from actionkit.datasets.pipelines.decoders.synthetic import write_video
from actionkit.datasets.pipelines.decoding import (DecordDecode, DecordInit, PyAVDecode,
                                                   PyAVInit, RawFrameDecode)
from actionkit.errors import DecodeError
from actionkit.models.weights import load_checkpoint
from actionkit.utils.fileio import IOSettings, RemoteFile
from actionkit.utils.safe_pickle import load_safe_pickle

SHARED_DEMO = Path(__file__).resolve().parents[2].parent / 'shared/data/mmaction2/demo/demo.mp4'
# frames on both sides of keyframes (gop 12), out of order, repeated, and past the end
INDICES = [0, 11, 12, 13, 47, 5, 35, 35, 59, 80]


@pytest.fixture(scope='module')
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 frames, a keyframe every 12, B-frames: seeking matters."""
    path = tmp_path_factory.mktemp('clip') / 'clip.mp4'
    write_video(path, num_frames=60, width=64, height=48, gop=12, bframes=2)
    return path


def _decode(init: object, decode: object, filename: str, inds: list[int]) -> dict:
    results = init({'filename': filename})
    results['frame_inds'] = np.array(inds)
    return decode(results)


def test_video_from_s3_gives_the_local_frames(s3_server, long_clip) -> None:
    s3_server.put('s3://vid-bkt/videos/clip.mp4', long_clip.read_bytes())
    local = _decode(PyAVInit(), PyAVDecode(), str(long_clip), INDICES)
    remote = _decode(PyAVInit(), PyAVDecode(), 's3://vid-bkt/videos/clip.mp4', INDICES)
    assert remote['total_frames'] == local['total_frames'] == 60
    assert remote['avg_fps'] == local['avg_fps']
    assert len(remote['imgs']) == len(INDICES)
    for index, a, b in zip(INDICES, remote['imgs'], local['imgs']):
        assert np.array_equal(a, b), f'frame {index} differs'
    assert not np.array_equal(remote['imgs'][1], remote['imgs'][2])  # the test can tell


@pytest.mark.skipif(not SHARED_DEMO.is_file(), reason=f'{SHARED_DEMO} is not here')
def test_real_clip_from_s3_gives_the_local_frames(s3_server) -> None:
    data = SHARED_DEMO.read_bytes()
    s3_server.put('s3://vid-bkt/demo/demo.mp4', data)
    inds = [0, 37, 38, 150, 279]
    with open_video('s3://vid-bkt/demo/demo.mp4') as remote, open_video(str(SHARED_DEMO)) as local:
        assert len(remote) == len(local) == 280
        for index, a, b in zip(inds, remote.get_frames(inds), local.get_frames(inds)):
            assert np.array_equal(a, b), f'frame {index} differs'
        assert 0 < remote.bytes_fetched <= 2 * len(data)
        assert local.bytes_fetched == 0


def _full_scan_table(path: Path) -> list[tuple[int, bool]]:
    import av
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [(p.pts, p.is_keyframe) for p in container.demux(stream)
                if p.size and not p.is_discard]


def test_remote_frame_table_needs_no_media_data(s3_server, tmp_path) -> None:
    import av
    path = tmp_path / 'long.mp4'
    write_video(path, num_frames=300, width=160, height=120, gop=12, bframes=2)
    data = path.read_bytes()
    s3_server.put('s3://vid-bkt/videos/long.mp4', data)
    settings = IOSettings(block_size=4096, cache_blocks=8)
    with RemoteFile('s3://vid-bkt/videos/long.mp4', settings) as fin:
        fin.seek(1234)
        table = mov_frame_table(av, fin, fin.size)
        assert fin.tell() == 1234  # the decoding container's position is left alone
        fetched = fin.bytes_fetched
    expected = _full_scan_table(path)
    assert table == expected and len(table) == 300
    assert sum(key for _, key in table) == 25  # a keyframe every 12 frames
    assert fetched < len(data) / 10, (fetched, len(data))  # the sample tables, not the frames


def test_truncated_remote_mp4_is_refused(s3_server, long_clip, tmp_path) -> None:
    import av
    faststart = tmp_path / 'faststart.mp4'  # the index first: a cut copy still lists every frame
    with av.open(str(long_clip)) as source, \
            av.open(str(faststart), 'w', options={'movflags': 'faststart'}) as out:
        stream = out.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(source.streams.video[0]):
            if packet.size:
                packet.stream = stream
                out.mux(packet)
    data = faststart.read_bytes()
    assert data[4:8] == b'ftyp' and data.find(b'moov') < data.find(b'mdat')
    s3_server.put('s3://vid-bkt/videos/cut.mp4', data[:len(data) * 2 // 3])
    with pytest.raises(DecodeError, match=r's3://vid-bkt/videos/cut\.mp4 is truncated: its '
                                          r'index lists 60 frames'):
        open_video('s3://vid-bkt/videos/cut.mp4')


def test_decord_step_on_a_url_decodes_with_pyav(s3_server, long_clip, caplog) -> None:
    s3_server.put('s3://vid-bkt/videos/clip.mp4', long_clip.read_bytes())
    init = DecordInit()
    local = _decode(PyAVInit(), PyAVDecode(), str(long_clip), INDICES)
    with caplog.at_level(logging.WARNING):
        remote = _decode(init, DecordDecode(), 's3://vid-bkt/videos/clip.mp4', INDICES)
        _decode(init, DecordDecode(), 's3://vid-bkt/videos/clip.mp4', [0])
    assert all(np.array_equal(a, b) for a, b in zip(remote['imgs'], local['imgs']))
    warnings = [r.getMessage() for r in caplog.records if 'local files only' in r.getMessage()]
    assert len(warnings) == 1 and 'DecordInit' in warnings[0], warnings  # once per step


def test_missing_remote_video_names_the_url(s3_server) -> None:
    s3_server.put('s3://vid-bkt/other.txt', b'x')
    with pytest.raises(DataError, match=r'video file not found: s3://vid-bkt/videos/gone\.mp4'):
        PyAVInit()({'filename': 's3://vid-bkt/videos/gone.mp4'})
    s3_server.put('s3://vid-bkt/videos/empty.mp4', b'')
    with pytest.raises(DataError, match=r'empty \(0 bytes\): s3://vid-bkt/videos/empty\.mp4'):
        PyAVInit()({'filename': 's3://vid-bkt/videos/empty.mp4'})


def test_rawframes_from_s3_give_the_local_frames(s3_server, synthetic_data) -> None:
    root = synthetic_data['rawframes_root']
    s3_server.put_tree('s3://frames-bkt/rawframes', root)
    s3_server.put('s3://frames-bkt/val_list_rawframes.txt',
                  Path(synthetic_data['val_list_rawframes']).read_bytes())
    pipeline = [dict(type='SampleFrames', clip_len=2, frame_interval=3, num_clips=2,
                     test_mode=True), dict(type='RawFrameDecode')]
    local = build_dataset(dict(type='RawframeDataset', ann_file=synthetic_data[
        'val_list_rawframes'], data_prefix=root, pipeline=pipeline, test_mode=True))
    remote = build_dataset(dict(type='RawframeDataset',
                                ann_file='s3://frames-bkt/val_list_rawframes.txt',
                                data_prefix='s3://frames-bkt/rawframes', pipeline=pipeline,
                                test_mode=True))
    assert len(remote) == len(local) == 10
    for idx in (0, 7):
        a, b = remote[idx], local[idx]
        assert a['frame_dir'] == b['frame_dir'].replace(root, 's3://frames-bkt/rawframes')
        assert a['label'] == b['label'] and list(a['frame_inds']) == list(b['frame_inds'])
        assert all(np.array_equal(x, y) for x, y in zip(a['imgs'], b['imgs']))
    with pytest.raises(DataError, match=r'frame file not found: s3://frames-bkt/nowhere/img_'):
        RawFrameDecode()({'frame_dir': 's3://frames-bkt/nowhere', 'filename_tmpl':
                          'img_{:05}.jpg', 'frame_inds': np.array([1]), 'modality': 'RGB'})


def test_remote_frames_of_a_clip_are_fetched_together(fault_server, synthetic_data) -> None:
    import time
    folder = Path(synthetic_data['rawframes_root']) / 'val_00000'
    for image in folder.iterdir():
        fault_server.files[f'val_00000/{image.name}'] = image.read_bytes()
    inds = np.arange(1, 9)
    results = {'frame_dir': f'{fault_server.url}/slow/val_00000', 'filename_tmpl':
               'img_{:05}.jpg', 'frame_inds': inds, 'modality': 'RGB'}
    start = time.monotonic()
    remote = RawFrameDecode()(dict(results))['imgs']
    elapsed = time.monotonic() - start
    local = RawFrameDecode()(dict(results, frame_dir=str(folder)))['imgs']
    assert all(np.array_equal(a, b) for a, b in zip(remote, local)) and len(remote) == 8
    assert elapsed < 2.5, elapsed  # 8 GETs of 0.5 s each, sent together (serially: 4 s)


def test_video_list_from_s3_equals_local(s3_server, synthetic_data) -> None:
    ann = Path(synthetic_data['val_list_videos'])
    s3_server.put('s3://ann-bkt/lists/val_list_videos.txt', ann.read_bytes())
    local = load_video_list(ann, data_prefix='s3://vid-bkt/videos')
    remote = load_video_list('s3://ann-bkt/lists/val_list_videos.txt',
                             data_prefix='s3://vid-bkt/videos')
    assert list(remote) == list(local) and len(remote) == 10
    assert remote[0]['filename'].startswith('s3://vid-bkt/videos/')
    with pytest.raises(FileNotFoundError, match=r's3://ann-bkt/lists/missing\.txt'):
        load_video_list('s3://ann-bkt/lists/missing.txt')


def test_pickle_from_s3(s3_server) -> None:
    value = {'a': np.arange(6, dtype=np.float32).reshape(2, 3), 'b': [1, 2]}
    s3_server.put('s3://ann-bkt/proposals.pkl', pickle.dumps(value))
    loaded = load_safe_pickle('s3://ann-bkt/proposals.pkl')
    assert np.array_equal(loaded['a'], value['a']) and loaded['b'] == [1, 2]


def test_checkpoint_from_s3_loads_the_same_weights(s3_server, tmp_path) -> None:
    torch.manual_seed(0)
    source = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    path = tmp_path / 'epoch_1.pth'
    torch.save({'meta': {'epoch': 1}, 'state_dict': source.state_dict()}, path)
    s3_server.put('s3://ckpt-bkt/work/epoch_1.pth', path.read_bytes())
    target = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    checkpoint = load_checkpoint(target, 's3://ckpt-bkt/work/epoch_1.pth', strict=True)
    assert checkpoint['meta'] == {'epoch': 1}
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key
    temps = [n for n in os.listdir(os.environ.get('TMPDIR', '/tmp'))
             if n.startswith('actionkit-') and n.endswith('.pth')]
    assert not temps, temps  # the temporary copy was removed
    with pytest.raises(FileNotFoundError, match=r's3://ckpt-bkt/work/epoch_2\.pth'):
        load_checkpoint(target, 's3://ckpt-bkt/work/epoch_2.pth')


def test_object_gone_mid_decode_is_a_data_error_naming_the_url(fault_server, tmp_path,
                                                               monkeypatch) -> None:
    monkeypatch.setenv('ACTIONKIT_IO_BLOCK_SIZE', '4096')  # the decode must fetch more blocks
    monkeypatch.setenv('ACTIONKIT_IO_RETRIES', '1')
    path = write_video(tmp_path / 'long.mp4', num_frames=300, width=160, height=120, gop=12)
    fault_server.files['clip.mp4'] = Path(path).read_bytes()
    url = f'{fault_server.url}/files/clip.mp4'
    reader = open_video(url)
    assert len(reader) == 300
    del fault_server.files['clip.mp4']  # deleted (or the network lost) after the open
    with pytest.raises(DataError, match=rf'cannot read video {url}: .*HTTP 404'):
        reader.get_frames([250])
    reader.close()


def test_refused_io_backend_fails_when_the_pipeline_is_built() -> None:
    with pytest.raises(ValueError, match=r"DecordInit: io_backend='petrel' .*s3://bucket"):
        DecordInit(io_backend='petrel')
    assert RawFrameDecode(io_backend='http').io_backend == 'http'
