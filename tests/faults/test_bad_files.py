"""Bad annotation lists, config files and checkpoints, at the entry points users call.

Three tables, one row a fault kind:

* :data:`ANNOTATION_FAULTS`: a malformed line in an annotation list; ``build_dataset`` must
  raise :class:`~actionkit.errors.AnnotationError` naming ``file:line``.
* :data:`CONFIG_FAULTS`: mistakes in config files and ``--cfg-options``; the command
  (``tools/train.py``, ``tools/test.py``) or ``init_recognizer`` must raise an error naming
  the file and the key, with a suggestion where one is close.
* :data:`CHECKPOINT_FAULTS`: checkpoints that must not load into the model, given to
  ``tools/test.py``, ``init_recognizer`` and ``tools/train.py --load-from/--resume-from``.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from faults_helpers import (NUM_CLASSES, TINY_MODEL, load_tool, rawframe_pipeline, slug,
                           write_config)
from faults_media import write_clip

from actionkit.apis import init_recognizer, inference_recognizer
from actionkit.datasets import build_dataset
from actionkit.errors import AnnotationError
from actionkit.models import build_model
from actionkit.models.weights import CheckpointError, UnsafeCheckpointError


# ------------------------------------------------------------------------- annotation lists
@dataclass(frozen=True)
class AnnotationFault:
    """A list whose second line is malformed. ``error`` is a regex of the message."""

    kind: str
    dataset: str
    bad_line: str
    error: str


ANNOTATION_FAULTS = [
    AnnotationFault('annotation line with too few fields', 'RawframeDataset', 'clip_b 8',
                    r'expected 3 fields .*got 2'),
    AnnotationFault('annotation line with too few fields (video list)', 'VideoDataset',
                    'clip_b.mp4', r'expected 2 fields .*got 1'),
    AnnotationFault('annotation line with too many fields', 'RawframeDataset', 'clip_b 8 1 2',
                    r'expected 3 fields .*got 4.*multi_class=True'),
    AnnotationFault('non-integer label', 'RawframeDataset', 'clip_b 8 jump',
                    r"label 'jump' is not an integer"),
    AnnotationFault('non-integer label (video list)', 'VideoDataset', 'clip_b.mp4 1.5',
                    r"label '1\.5' is not an integer"),
    AnnotationFault('label >= num_classes', 'RawframeDataset', f'clip_b 8 {NUM_CLASSES}',
                    rf'{NUM_CLASSES}.*num_classes'),
    AnnotationFault('negative total_frames', 'RawframeDataset', 'clip_b -3 1',
                    r'total_frames must be > 0, got -3'),
    AnnotationFault('zero total_frames', 'RawframeDataset', 'clip_b 0 1',
                    r'total_frames must be > 0, got 0'),
]


@pytest.mark.parametrize('fault', ANNOTATION_FAULTS, ids=[slug(f.kind) for f in ANNOTATION_FAULTS])
@pytest.mark.parametrize('test_mode', [False, True], ids=['train', 'test'])
def test_malformed_annotation_line_names_file_and_line(tmp_path: Path, fault: AnnotationFault,
                                                       test_mode: bool) -> None:
    first = 'clip_a 8 1' if fault.dataset == 'RawframeDataset' else 'clip_a.mp4 1'
    ann_file = tmp_path / 'lists' / 'train list.txt'
    ann_file.parent.mkdir()
    ann_file.write_text(f'{first}\n{fault.bad_line}\n{first}\n')
    cfg = dict(type=fault.dataset, ann_file=str(ann_file), data_prefix=str(tmp_path),
               pipeline=rawframe_pipeline(test_mode), num_classes=NUM_CLASSES,
               test_mode=test_mode)
    with pytest.raises(AnnotationError) as info:
        build_dataset(cfg)
    message = str(info.value)
    assert f'{ann_file}:2:' in message, message
    assert re.search(fault.error, message), message
    assert fault.bad_line in message  # the line itself is shown


# ------------------------------------------------------------------------- configs
@pytest.fixture
def tiny_data(tmp_path: Path) -> tuple[Path, Path]:
    """Two 8-frame clips and their list: ``(ann_file, data_root)``."""
    root = tmp_path / 'videos'
    root.mkdir()
    for index in range(2):
        write_clip(root / f'clip_{index}.mp4', num_frames=8)
    ann_file = root / 'list.txt'
    ann_file.write_text('clip_0.mp4 1\nclip_1.mp4 2\n')
    return ann_file, root


@dataclass(frozen=True)
class ConfigFault:
    """``run(tmp_path, config)`` triggers the fault; ``error`` is (type, regex)."""

    kind: str
    run: Callable[[Path, Path], object]
    error: tuple[type[BaseException], str]


def _train(argv: list[str]) -> object:
    return load_tool('tools/train.py').main(argv)


def _test(argv: list[str]) -> object:
    return load_tool('tools/test.py').main(argv)


def _typo_top_level(tmp: Path, config: Path) -> object:
    config.write_text(config.read_text() + "\nlr_confg = dict(policy='step', step=[1])\n")
    return _train([str(config), '--work-dir', str(tmp / 'work')])


def _typo_nested(tmp: Path, config: Path) -> object:
    config.write_text(config.read_text() + "\nmodel['backbone']['dept'] = 18\n")
    return init_recognizer(str(config), device='cpu')


def _unknown_type(tmp: Path, config: Path) -> object:
    config.write_text(config.read_text() + "\nmodel['backbone']['type'] = 'ResNett'\n")
    return init_recognizer(str(config), device='cpu')


def _unknown_pipeline_type(tmp: Path, config: Path) -> object:
    config.write_text(config.read_text() + "\ndata['test']['pipeline'][0]['type'] = "
                      "'PyAVInt'\n")
    return _test([str(config), str(tmp / 'unused.pth'), '--eval', 'top_k_accuracy'])


def _missing_base(tmp: Path, config: Path) -> object:
    child = tmp / 'child.py'
    child.write_text("_base_ = ['./bases/runtime.py']\n")
    return _test([str(child), str(tmp / 'unused.pth'), '--eval', 'top_k_accuracy'])


def _base_cycle(tmp: Path, config: Path) -> object:
    (tmp / 'a.py').write_text("_base_ = ['./b.py']\nx = 1\n")
    (tmp / 'b.py').write_text("_base_ = ['./a.py']\ny = 2\n")
    return _test([str(tmp / 'a.py'), str(tmp / 'unused.pth'), '--eval', 'top_k_accuracy'])


def _cfg_option_unknown_key(tmp: Path, config: Path) -> object:
    return _test([str(config), str(tmp / 'unused.pth'), '--eval', 'top_k_accuracy',
                  '--cfg-options', 'model.backbone.dpeth=34'])


def _cfg_option_typo_train(tmp: Path, config: Path) -> object:
    return _train([str(config), '--work-dir', str(tmp / 'work'), '--cfg-options',
                   'optimizer.momentun=0.8'])


def _cfg_option_new_argument_train(tmp: Path, config: Path) -> object:
    # a new last key that is close to no existing one is added (the guide's with_cp=True
    # example); the class it reaches then names the argument it does not take
    return _train([str(config), '--work-dir', str(tmp / 'work'), '--cfg-options',
                   'optimizer.learning_rate=0.1'])


def _cfg_option_section_none(tmp: Path, config: Path) -> object:
    return _train([str(config), '--work-dir', str(tmp / 'work'), '--cfg-options',
                   'optimizer=None'])


CONFIG_FAULTS = [
    ConfigFault("config with a typo'd key (top level)", _typo_top_level,
                (KeyError, r"'lr_confg' is not a known key: did you mean 'lr_config'")),
    ConfigFault("config with a typo'd key (in a model dict)", _typo_nested,
                (TypeError, r"ResNet.*unknown argument 'dept' in its config; did you mean "
                           r"'depth'\?")),
    ConfigFault('unknown type', _unknown_type,
                (KeyError, r"'ResNett' is not registered in the backbone registry\. "
                           r"Did you mean 'ResNet'")),
    ConfigFault('unknown type (pipeline step)', _unknown_pipeline_type,
                (KeyError, r"'PyAVInt' is not registered in the pipeline registry\. "
                           r"Did you mean 'PyAVInit'")),
    ConfigFault('missing _base_', _missing_base,
                (FileNotFoundError, r"child\.py asks for _base_ './bases/runtime\.py', "
                                    r"resolved to .*bases/runtime\.py, which does not exist")),
    ConfigFault('_base_ cycle', _base_cycle,
                (ValueError, r'_base_ files form a cycle: .*a\.py -> .*b\.py -> .*a\.py')),
    ConfigFault('--cfg-options on a nonexistent key', _cfg_option_unknown_key,
                (KeyError, r"cannot override 'model\.backbone\.dpeth' \(config file "
                           r".*config\.py\).*Did you mean 'depth'")),
    ConfigFault('--cfg-options on a nonexistent key (tools/train.py)', _cfg_option_typo_train,
                (KeyError, r"cannot override 'optimizer\.momentun'.*'optimizer' has no key "
                           r"'momentun'\. Did you mean 'momentum'")),
    ConfigFault('--cfg-options adding an argument the class does not take',
                _cfg_option_new_argument_train,
                (TypeError, r"SGD.*unknown argument 'learning_rate'")),
    ConfigFault('--cfg-options optimizer=None', _cfg_option_section_none,
                (TypeError, r"^config key 'optimizer' must be a dict, like optimizer = "
                            r"dict\(type='SGD', lr=0\.01, .*\); got None \(config file "
                            r'.*config\.py, or a --cfg-options override\)$')),
]


@pytest.mark.parametrize('tool', ['tools/train.py', 'tools/test.py'])
def test_a_cfg_options_value_nested_5000_deep_is_one_line(
        tmp_path: Path, tiny_data: tuple[Path, Path], tool: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path / 'config.py', *tiny_data)
    value = '[' * 5000 + ']' * 5000
    args = [str(tmp_path / 'ckpt.pth'), '--eval', 'top_k_accuracy'] if 'test' in tool else []
    with pytest.raises(SystemExit) as info:
        load_tool(tool).main([str(config), *args, '--cfg-options', f'model.extra={value}'])
    assert info.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.endswith('error: --cfg-options model.extra: the value nests lists or tuples '
                         'more than 50 levels deep'), last



@pytest.mark.parametrize('fault', CONFIG_FAULTS, ids=[slug(f.kind) for f in CONFIG_FAULTS])
def test_config_mistake_names_file_and_key(tmp_path: Path, tiny_data: tuple[Path, Path],
                                           fault: ConfigFault) -> None:
    config = write_config(tmp_path / 'config.py', *tiny_data)
    error, pattern = fault.error
    with pytest.raises(error) as info:
        fault.run(tmp_path, config)
    assert re.search(pattern, str(info.value)), str(info.value)
    assert not (tmp_path / 'work' / 'latest.pth').exists()  # nothing was trained


# ------------------------------------------------------------------------- checkpoints
class _Payload:
    """Unpickling this runs ``os.system`` (the classic malicious-pickle payload)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return os.system, (f'touch {self.marker}',)


def _tiny_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return build_model(TINY_MODEL).state_dict()


def _other_architecture(path: Path, marker: Path) -> None:
    other = dict(TINY_MODEL, backbone=dict(TINY_MODEL['backbone'], depth=50),
                 cls_head=dict(TINY_MODEL['cls_head'], in_channels=128))
    torch.save({'state_dict': build_model(other).state_dict(), 'meta': {}}, path)


def _truncated_checkpoint(path: Path, marker: Path) -> None:
    torch.save({'state_dict': _tiny_state(), 'meta': {}}, path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) * 2 // 3])


def _malicious_pickle(path: Path, marker: Path) -> None:
    torch.save({'state_dict': _tiny_state(), 'meta': {'note': _Payload(marker)}}, path)


def _integer_weights(path: Path, marker: Path) -> None:
    state = {k: (v * 100).round().to(torch.int64) for k, v in _tiny_state().items()}
    torch.save({'state_dict': state, 'meta': {}}, path)


def _all_nan(path: Path, marker: Path) -> None:
    state = {k: torch.full_like(v, float('nan')) if v.is_floating_point() else v
             for k, v in _tiny_state().items()}
    torch.save({'state_dict': state, 'meta': {}}, path)


def _random_bytes_pth(path: Path, marker: Path) -> None:
    path.write_bytes(b'\x17' + np.random.default_rng(0).bytes(4999))


@dataclass(frozen=True)
class CheckpointFault:
    kind: str
    make: Callable[[Path, Path], None]
    error: tuple[type[BaseException], str]


CHECKPOINT_FAULTS = [
    CheckpointFault('checkpoint of another architecture', _other_architecture,
                    (RuntimeError, r'does not match Recognizer2D \(strict=True, nothing loaded\)'
                                   r'.*size mismatch for \d+ keys: backbone\.layer1\.0\.conv1\.'
                                   r'conv\.weight \(checkpoint \[4, 4, 1, 1\], model \[4, 4, 3, '
                                   r'3\]\).*unexpected keys in the checkpoint')),
    CheckpointFault('truncated checkpoint', _truncated_checkpoint,
                    (CheckpointError, r'cannot read .*ckpt\.pth: the file is truncated or '
                                      r'corrupt')),
    CheckpointFault('malicious pickle checkpoint', _malicious_pickle,
                    (UnsafeCheckpointError, r'ckpt\.pth needs full unpickling.*can execute '
                                            r'arbitrary code.*--allow-pickle.*trust')),
    CheckpointFault('checkpoint with integer weights', _integer_weights,
                    (TypeError, r"ckpt\.pth: 'backbone\.conv1\.conv\.weight' holds torch\.int64 "
                                r'values where the model has torch\.float32 \(\d+ more keys like '
                                r'it\): refusing to cast them')),
    # 122 tensors, of which 20 are BatchNorm's integer num_batches_tracked; conv1 is 4x3x7x7
    CheckpointFault('all-NaN checkpoint', _all_nan,
                    (ValueError, r'ckpt\.pth: 102 of 122 tensors hold NaN or inf values, the '
                                 r"first 'backbone\.conv1\.conv\.weight' \(588 of 588\).*"
                                 r'--allow-nonfinite-weights')),
    CheckpointFault('random bytes named .pth', _random_bytes_pth,
                    (CheckpointError, r'ckpt\.pth is not a checkpoint: it starts with 17 ')),
]

_ENTRY_POINTS = ['tools/test.py', 'init_recognizer', 'tools/train.py --load-from',
                 'tools/train.py --resume-from']


def _load_through(entry: str, config: Path, checkpoint: Path, tmp: Path) -> object:
    if entry == 'tools/test.py':
        return _test([str(config), str(checkpoint), '--eval', 'top_k_accuracy'])
    if entry == 'init_recognizer':
        return init_recognizer(str(config), str(checkpoint), device='cpu')
    flag = entry.split()[-1]
    return _train([str(config), '--work-dir', str(tmp / 'work'), flag, str(checkpoint)])


@pytest.mark.parametrize('entry', _ENTRY_POINTS, ids=slug)
@pytest.mark.parametrize('fault', CHECKPOINT_FAULTS, ids=[slug(f.kind) for f in CHECKPOINT_FAULTS])
def test_bad_checkpoint_is_refused_by_every_entry_point(
        tmp_path: Path, tiny_data: tuple[Path, Path], fault: CheckpointFault,
        entry: str) -> None:
    config = write_config(tmp_path / 'config.py', *tiny_data)
    checkpoint, marker = tmp_path / 'ckpt.pth', tmp_path / 'payload-ran'
    fault.make(checkpoint, marker)
    error, pattern = fault.error
    if entry == 'tools/train.py --load-from' and error is RuntimeError:
        # load_from starts a fine-tuning run from what fits (strict=False, as in MMAction2):
        # the mismatches are logged with both shapes, and training goes on
        assert _load_through(entry, config, checkpoint, tmp_path) == 0
        (log_file,) = (tmp_path / 'work').glob('*.log')
        log = log_file.read_text()
        assert re.search(r'size mismatch for \d+ keys: backbone\.layer1\.0\.conv1\.conv\.weight '
                         r'\(checkpoint \[4, 4, 1, 1\], model \[4, 4, 3, 3\]\)', log), log
        return
    with pytest.raises(error) as info:
        _load_through(entry, config, checkpoint, tmp_path)
    assert re.search(pattern, str(info.value), re.S), str(info.value)
    assert not marker.exists(), 'the pickle payload ran'
    assert not (tmp_path / 'work' / 'epoch_1.pth').exists()


@pytest.mark.parametrize('tool', ['tools/test.py', 'tools/train.py'])
def test_the_opt_in_the_refusal_names_exists_and_says_trusted_only(
        tool: str, capsys: pytest.CaptureFixture) -> None:
    module = load_tool(tool)
    with pytest.raises(SystemExit):
        module.main(['--help'])
    usage = ' '.join(capsys.readouterr().out.split())
    assert '--allow-pickle' in usage, f'{tool} has no --allow-pickle option'
    help_text = usage[usage.rindex('--allow-pickle'):][:300]  # its entry under options
    assert 'trust' in help_text, help_text


def test_opt_in_loads_a_trusted_legacy_checkpoint(tmp_path: Path,
                                                  tiny_data: tuple[Path, Path]) -> None:
    """A legacy checkpoint whose meta holds an ``argparse.Namespace`` (harmless, but not
    loadable with ``weights_only=True``) is refused by default and loads with the opt-in."""
    config = write_config(tmp_path / 'config.py', *tiny_data)
    checkpoint = tmp_path / 'legacy.pth'
    torch.save({'state_dict': _tiny_state(), 'meta': {'args': argparse.Namespace(lr=0.1)}},
               checkpoint)
    out = tmp_path / 'scores.json'
    with pytest.raises(UnsafeCheckpointError):
        _test([str(config), str(checkpoint), '--out', str(out)])
    assert _test([str(config), str(checkpoint), '--out', str(out), '--allow-pickle']) == 0
    assert out.is_file()


def test_safetensors_checkpoint_and_json_results_need_no_pickle(
        tmp_path: Path, tiny_data: tuple[Path, Path]) -> None:
    """The pickle-free path end to end: weights from ``.safetensors``, results to ``.json``;
    the scores equal those of the same weights in a ``.pth`` written to ``.pkl``."""
    pytest.importorskip('safetensors')
    from safetensors.torch import save_file

    config = write_config(tmp_path / 'config.py', *tiny_data)
    state = _tiny_state()
    save_file(state, str(tmp_path / 'tiny.safetensors'))
    torch.save({'state_dict': state, 'meta': {}}, tmp_path / 'tiny.pth')
    _test([str(config), str(tmp_path / 'tiny.safetensors'), '--out', str(tmp_path / 'r.json')])
    _test([str(config), str(tmp_path / 'tiny.pth'), '--out', str(tmp_path / 'r.pkl')])
    from_json = json.loads((tmp_path / 'r.json').read_text())
    with open(tmp_path / 'r.pkl', 'rb') as f:
        from_pickle = pickle.load(f)  # our own file, written just above
    assert len(from_json) == len(from_pickle) == 2
    assert all(isinstance(score, float) for row in from_json for score in row)
    np.testing.assert_allclose(np.asarray(from_json), np.asarray(from_pickle), rtol=1e-6)
    model = init_recognizer(str(config), str(tmp_path / 'tiny.safetensors'), device='cpu')
    top5 = inference_recognizer(model, str(tiny_data[1] / 'clip_0.mp4'))
    assert top5[0][1] == pytest.approx(max(from_json[0]), rel=1e-5)


def test_non_finite_scores_are_never_written_to_a_results_file(
        tmp_path: Path, tiny_data: tuple[Path, Path]) -> None:
    config = write_config(tmp_path / 'config.py', *tiny_data)
    checkpoint, out = tmp_path / 'ckpt.pth', tmp_path / 'results.json'
    _all_nan(checkpoint, tmp_path / 'unused')
    with pytest.raises(ValueError, match=rf'^not writing {re.escape(str(out))}: 2 of 2 results '
                                         'hold NaN or inf scores'):
        _test([str(config), str(checkpoint), '--out', str(out), '--allow-nonfinite-weights'])
    assert sorted(p.name for p in tmp_path.iterdir()) == ['ckpt.pth', 'config.py', 'videos']


def test_random_bytes_are_not_a_checkpoint_even_with_allow_pickle(
        tmp_path: Path, tiny_data: tuple[Path, Path]) -> None:
    config = write_config(tmp_path / 'config.py', *tiny_data)
    checkpoint = tmp_path / 'ckpt.pth'
    _random_bytes_pth(checkpoint, tmp_path / 'unused')
    with pytest.raises(CheckpointError, match=r'ckpt\.pth is not a checkpoint: it starts with '
                                              r'17 [0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2}, not'):
        init_recognizer(str(config), str(checkpoint), device='cpu', allow_pickle=True)
