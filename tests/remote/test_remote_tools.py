"""``tools/test.py`` on a test set in a real S3 API (moto on 127.0.0.1) gives exactly the
local result: the command line of the issue, with two loader worker processes (forked, so the
S3 client must survive the fork), and the checkpoint read from S3 too."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from actionkit.apis import inference_recognizer, init_recognizer
from actionkit.config import Config
from actionkit.models import build_model
from remote_servers import TINY_TSN

REPO = Path(__file__).resolve().parents[2]

_CONFIG = TINY_TSN + '''\
data = dict(videos_per_gpu=2, workers_per_gpu=2,
            test=dict(type='VideoDataset', ann_file={ann!r}, data_prefix={prefix!r},
                      pipeline=test_pipeline, test_mode=True))
'''


def _run(args: list[str]) -> str:
    done = subprocess.run([sys.executable, str(REPO / 'tools/test.py'), *args],
                          capture_output=True, text=True, timeout=300, cwd=REPO,
                          env=dict(os.environ, CUDA_VISIBLE_DEVICES='-1', OMP_NUM_THREADS='1'))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


@pytest.mark.slow
def test_tools_test_on_s3_gives_the_local_result(s3_server, synthetic_data, tmp_path) -> None:
    check_tools_test_on_store(s3_server, 's3://test-bkt', synthetic_data, tmp_path)


def check_tools_test_on_store(store: Any, base: str, synthetic_data: dict, tmp_path: Path
                              ) -> None:
    """The issue's command line: ``tools/test.py`` with the list, the videos and the checkpoint
    in ``store`` under ``base`` gives exactly the local scores and accuracy."""
    ann, videos = synthetic_data['val_list_videos'], synthetic_data['videos_root']
    store.put(f'{base}/val_list_videos.txt', Path(ann).read_bytes())
    store.put_tree(f'{base}/videos', videos)
    config = tmp_path / 'tiny_tsn_local.py'
    config.write_text(_CONFIG.format(ann=ann, prefix=videos), encoding='utf-8')
    torch.manual_seed(3)
    model = build_model(Config.fromfile(str(config)).model)
    checkpoint = tmp_path / 'tiny.pth'
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, checkpoint)
    store.put(f'{base}/work/tiny.pth', checkpoint.read_bytes())

    local_out, remote_out = tmp_path / 'local.pkl', tmp_path / 'remote.pkl'
    local_log = _run([str(config), str(checkpoint), '--out', str(local_out),
                      '--eval', 'top_k_accuracy'])
    # the remote run's config names local paths that do not exist: only the overrides work
    remote_config = tmp_path / 'tiny_tsn_elsewhere.py'
    remote_config.write_text(_CONFIG.format(ann=str(tmp_path / 'absent.txt'),
                                            prefix=str(tmp_path / 'absent')), encoding='utf-8')
    remote_log = _run([str(remote_config), f'{base}/work/tiny.pth', '--out', str(remote_out),
                       '--eval', 'top_k_accuracy', '--cfg-options',
                       f'data.test.ann_file={base}/val_list_videos.txt',
                       f'data.test.data_prefix={base}/videos'])
    local = pickle.loads(local_out.read_bytes())
    remote = pickle.loads(remote_out.read_bytes())
    assert len(local) == len(remote) == 10
    for a, b in zip(local, remote):
        assert np.array_equal(a, b)
    assert np.ptp(np.stack(local)) > 0  # real scores, not a constant
    accuracy = [line.split('top1_acc')[1] for line in local_log.splitlines() if 'top1_acc' in line]
    assert accuracy and accuracy == [line.split('top1_acc')[1]
                                     for line in remote_log.splitlines() if 'top1_acc' in line]


def test_inference_on_an_s3_video_equals_the_local_file(s3_server, synthetic_data,
                                                        tmp_path) -> None:
    config = tmp_path / 'tiny_tsn.py'
    config.write_text(_CONFIG.format(ann='unused.txt', prefix=None), encoding='utf-8')
    torch.manual_seed(5)
    model = init_recognizer(str(config), device='cpu')
    video = next(Path(synthetic_data['videos_root']).rglob('*.mp4'))
    s3_server.put('s3://infer-bkt/clip.mp4', video.read_bytes())
    local = inference_recognizer(model, str(video))
    remote = inference_recognizer(model, 's3://infer-bkt/clip.mp4')
    assert remote == local and len(local) == 5
