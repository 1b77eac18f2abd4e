import random

import numpy as np
import pytest
import torch
from torch.utils.data import get_worker_info

from actionkit.datasets import builder
from actionkit.datasets.builder import build_dataloader, build_dataset
from actionkit.datasets.errors import BadSample, DecodeError
from actionkit.datasets.loader import (ClassSpecificDistributedSampler, DistributedSampler,
                                       collate, worker_init_fn)


class _ToSample:
    """A trivial pipeline: the record as a tensor sample, failing on labels in ``bad``."""

    def __init__(self, bad=()):
        self.bad = set(bad)

    def __call__(self, results):
        if results['label'] in self.bad:
            raise DecodeError('unreadable', results['filename'])
        index = int(results['filename'].split('.')[0])
        return dict(imgs=torch.full((2, 3), float(index)),
                    label=torch.tensor([results['label']]),
                    img_metas=dict(filename=results['filename']))


class _DrawNumpy:
    """A pipeline that draws from numpy's global RNG, as 0.x's SampleFrames does."""

    def __call__(self, results):
        info = get_worker_info()
        return dict(draw=int(np.random.randint(0, 2**31 - 1)),
                    worker=-1 if info is None else info.id)


def _dataset(tmp_path, num, pipeline, labels=None, **kwargs):
    labels = labels if labels is not None else [i % 3 for i in range(num)]
    path = tmp_path / 'list.txt'
    path.write_text(''.join(f'{i}.mp4 {label}\n' for i, label in enumerate(labels)))
    return build_dataset(dict(type='VideoDataset', ann_file=str(path), pipeline=[pipeline],
                              **kwargs))


# --- collate ---------------------------------------------------------------------------------

def test_collate_stacks_and_keeps_metas():
    samples = [dict(imgs=torch.ones(2, 3) * i, label=torch.tensor([i]), img_metas=dict(k=i),
                    score=np.array([i, i + 1]), count=i, name=f'n{i}') for i in range(3)]
    batch = collate(samples)
    assert batch['imgs'].shape == (3, 2, 3) and batch['imgs'][2, 0, 0] == 2
    assert batch['label'].tolist() == [[0], [1], [2]]
    assert batch['img_metas'] == [dict(k=0), dict(k=1), dict(k=2)]
    assert torch.equal(batch['score'], torch.tensor([[0, 1], [1, 2], [2, 3]]))
    assert batch['count'].tolist() == [0, 1, 2]
    assert batch['name'] == ['n0', 'n1', 'n2']
    assert 'bad_samples' not in batch


def test_collate_sets_bad_samples_aside():
    bad = BadSample(1, 'b.mp4', 'unreadable')
    batch = collate([dict(imgs=torch.zeros(2)), bad, dict(imgs=torch.ones(2))])
    assert batch['imgs'].tolist() == [[0, 0], [1, 1]]
    assert batch['bad_samples'] == [bad]
    assert collate([bad, bad]) == {'bad_samples': [bad, bad]}


def test_collate_errors():
    with pytest.raises(ValueError, match=r"sample 1 of the batch has keys \['label'\]"):
        collate([dict(imgs=torch.zeros(1)), dict(label=torch.zeros(1))])
    with pytest.raises(ValueError, match=r"cannot stack 'imgs'.*\(2,\), \(3,\)"):
        collate([dict(imgs=torch.zeros(2)), dict(imgs=torch.zeros(3))])


def test_collate_non_dict_samples():
    assert collate([(torch.zeros(2), 1), (torch.ones(2), 2)])[1].tolist() == [1, 2]


# --- build_dataloader ------------------------------------------------------------------------

@pytest.mark.parametrize('workers', [0, 2])
def test_loader_visits_every_sample_once(tmp_path, workers):
    dataset = _dataset(tmp_path, 11, _ToSample())
    loader = build_dataloader(dataset, videos_per_gpu=4, workers_per_gpu=workers,
                              shuffle=False, persistent_workers=True)
    batches = list(loader)
    assert [len(b['imgs']) for b in batches] == [4, 4, 3]
    seen = torch.cat([b['imgs'][:, 0, 0] for b in batches]).long().tolist()
    assert seen == list(range(11))
    assert batches[0]['img_metas'][1] == dict(filename='1.mp4')
    assert batches[0]['label'].shape == (4, 1)


def test_loader_with_workers_reports_bad_samples(tmp_path):
    dataset = _dataset(tmp_path, 6, _ToSample(bad={2}), labels=[0, 2, 1, 2, 2, 2])
    loader = build_dataloader(dataset, videos_per_gpu=3, workers_per_gpu=2, shuffle=False)
    first, second = list(loader)
    assert first['imgs'][:, 0, 0].tolist() == [0, 2]
    assert [(b.index, b.path) for b in first['bad_samples']] == [(1, '1.mp4')]
    assert second == {'bad_samples': [BadSample(i, f'{i}.mp4', 'unreadable') for i in (3, 4, 5)]}


def test_shuffle_with_seed_is_reproducible(tmp_path):
    dataset = _dataset(tmp_path, 20, _ToSample())

    def order(seed):
        loader = build_dataloader(dataset, 5, 0, seed=seed)
        return [int(v) for b in loader for v in b['imgs'][:, 0, 0]]

    assert order(3) == order(3)
    assert order(3) != order(4)
    assert sorted(order(3)) == list(range(20))


def test_workers_seed_numpy_global_rng(tmp_path):
    dataset = _dataset(tmp_path, 8, _DrawNumpy())
    loader = build_dataloader(dataset, videos_per_gpu=2, workers_per_gpu=2, shuffle=False,
                              seed=10)
    draws = {}
    for batch in loader:
        for worker, draw in zip(batch['worker'].tolist(), batch['draw'].tolist()):
            draws.setdefault(worker, []).append(draw)
    for worker in (0, 1):  # worker w of rank 0 draws from np.random.seed(seed + w)
        expected = np.random.RandomState(10 + worker).randint(0, 2**31 - 1, size=4)
        assert draws[worker] == expected.tolist()


def test_worker_init_fn_formula():
    worker_init_fn(worker_id=1, num_workers=4, rank=2, seed=100)  # seed 100 + 2 * 4 + 1
    values = (np.random.rand(), random.random(), torch.rand(1).item())
    np.random.seed(109)
    random.seed(109)
    torch.manual_seed(109)
    assert values == (np.random.rand(), random.random(), torch.rand(1).item())


def test_loader_argument_checks(tmp_path):
    dataset = _dataset(tmp_path, 2, _ToSample())
    with pytest.raises(ValueError, match='videos_per_gpu must be a positive int, got 0'):
        build_dataloader(dataset, 0, 1)
    with pytest.raises(ValueError, match='workers_per_gpu must be an int >= 0'):
        build_dataloader(dataset, 1, -1)
    with pytest.raises(ValueError, match='short_cycle'):
        build_dataloader(dataset, 1, 0, short_cycle=True)


def test_non_distributed_batch_scales_with_gpus(tmp_path):
    loader = build_dataloader(_dataset(tmp_path, 8, _ToSample()), 2, 1, num_gpus=2)
    assert loader.batch_size == 4 and loader.num_workers == 2


def test_distributed_loader_uses_the_rank(tmp_path, monkeypatch):
    monkeypatch.setattr(builder, '_dist_info', lambda: (1, 2))
    dataset = _dataset(tmp_path, 5, _ToSample())
    loader = build_dataloader(dataset, 2, 0, dist=True, shuffle=False)
    assert isinstance(loader.sampler, DistributedSampler)
    seen = [int(v) for b in loader for v in b['imgs'][:, 0, 0]]
    assert seen == [1, 3, 0]  # rank 1 of 2; the last one pads
    balanced = _dataset(tmp_path, 4, _ToSample(), labels=[0, 0, 0, 1], sample_by_class=True)
    loader = build_dataloader(balanced, 2, 0, dist=True, seed=3)
    assert isinstance(loader.sampler, ClassSpecificDistributedSampler)
    assert (loader.sampler.rank, loader.sampler.num_replicas, loader.sampler.seed) == (1, 2, 3)


# --- samplers --------------------------------------------------------------------------------

def test_distributed_sampler_padding_can_be_stripped():
    dataset = list(range(10))
    samplers = [DistributedSampler(dataset, num_replicas=4, rank=r, shuffle=False)
                for r in range(4)]
    parts = [list(s) for s in samplers]
    assert [len(p) for p in parts] == [3] * 4 and samplers[0].num_padded == 2
    interleaved = [idx for group in zip(*parts) for idx in group]
    assert interleaved[:10] == dataset and interleaved[10:] == [0, 1]
    masks = [s.padding_mask() for s in samplers]
    assert masks == [[False, False, False], [False, False, False], [False, False, True],
                     [False, False, True]]  # global positions 10 and 11 are padding
    kept = sorted(i for p, m in zip(parts, masks) for i, pad in zip(p, m) if not pad)
    assert kept == dataset


def test_distributed_sampler_tiny_dataset():
    parts = [list(DistributedSampler([0, 1], num_replicas=5, rank=r, shuffle=False))
             for r in range(5)]
    assert parts == [[0], [1], [0], [1], [0]]


def test_distributed_sampler_shuffles_per_epoch():
    def epoch_order(epoch, seed=0):
        parts = []
        for rank in range(2):
            sampler = DistributedSampler(list(range(9)), 2, rank, shuffle=True, seed=seed)
            sampler.set_epoch(epoch)
            parts.append(list(sampler))
        return parts

    first = epoch_order(0)
    assert sorted(first[0][:4] + first[1][:4] + first[0][4:]) == list(range(9))
    assert epoch_order(0) == first
    assert epoch_order(1) != first
    assert epoch_order(0, seed=5) != first


def test_class_specific_sampler_balances(tmp_path):
    labels = [0] * 8 + [1] * 2
    dataset = _dataset(tmp_path, 10, _ToSample(), labels=labels, sample_by_class=True)
    fixed = ClassSpecificDistributedSampler(dataset, 1, 0, dynamic_length=False, seed=1)
    drawn = list(fixed)
    assert len(drawn) == 10
    assert set(drawn) <= set(range(10))
    many = [list(ClassSpecificDistributedSampler(dataset, 1, 0, dynamic_length=False, seed=s))
            for s in range(30)]
    ratio = float(np.mean(np.asarray(labels)[np.concatenate(many)] == 1))
    assert 0.4 < ratio < 0.6  # 1 in 5 clips, but half of the draws with power=0

    dynamic = ClassSpecificDistributedSampler(dataset, 1, 0, dynamic_length=True, seed=1)
    drawn = list(dynamic)
    assert len(drawn) == 5  # 0.5 * 8 clips of class 0 + 0.5 * 2 of class 1
    assert sorted(np.asarray(labels)[drawn].tolist()) == [0, 0, 0, 0, 1]
    assert len(set(drawn)) == 5


def test_class_specific_sampler_needs_class_prob(tmp_path):
    dataset = _dataset(tmp_path, 3, _ToSample())
    with pytest.raises(ValueError, match='sample_by_class=True'):
        ClassSpecificDistributedSampler(dataset, 1, 0)


def test_collate_keeps_nostack_values_and_meta_dicts_per_sample():
    import torch as _torch

    from actionkit.datasets.loader import NoStack, collate

    samples = [
        {'raw_feature': _torch.zeros(4, 10), 'gt_bbox': NoStack(np.zeros((n, 2))),
         'video_meta': {'video_name': f'v{n}', 'duration_second': 1.0 * n}}
        for n in (1, 3)
    ]
    batch = collate(samples)
    assert batch['raw_feature'].shape == (2, 4, 10)
    assert [b.shape for b in batch['gt_bbox']] == [(1, 2), (3, 2)]
    assert batch['video_meta'] == [{'video_name': 'v1', 'duration_second': 1.0},
                                   {'video_name': 'v3', 'duration_second': 3.0}]


def test_dataloader_args_follow_mmaction_rule_and_loader_overrides():
    from actionkit.datasets.builder import DEFAULT_BATCH_TIMEOUT, dataloader_args
    cfg = dict(seed=3, gpu_ids=[0, 1],
               data=dict(videos_per_gpu=4, workers_per_gpu=2, batch_timeout=60,
                         val_dataloader=dict(videos_per_gpu=1),
                         test_dataloader=dict(workers_per_gpu=0)))
    assert dataloader_args(cfg, 'train') == dict(
        videos_per_gpu=4, workers_per_gpu=2, persistent_workers=False, batch_timeout=60,
        num_gpus=2, dist=False, seed=3)
    assert dataloader_args(cfg, 'val', distributed=True) == dict(
        videos_per_gpu=1, workers_per_gpu=2, persistent_workers=False, batch_timeout=60,
        num_gpus=1, dist=True, shuffle=False)
    test = dataloader_args(dict(data=dict()), 'test')  # no gpu_ids: one GPU, 1 video, 1 worker
    assert test == dict(videos_per_gpu=1, workers_per_gpu=1, persistent_workers=False,
                        batch_timeout=DEFAULT_BATCH_TIMEOUT, num_gpus=1, dist=False,
                        shuffle=False)
    assert dataloader_args(cfg, 'test')['workers_per_gpu'] == 0
    with pytest.raises(ValueError, match="'tets'"):
        dataloader_args(cfg, 'tets')
