"""``tools/misc/clip_feature_extraction.py``: run a recognizer as a feature extractor over videos.

Same command line as MMAction2 0.x::

    python tools/misc/clip_feature_extraction.py CONFIG CHECKPOINT --video-list LIST
        [--video-root DIR] --out FEATURES.pkl|.json|.yaml [--fuse-conv-bn]
        [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi] [--gpu-collect]
        [--tmpdir DIR] [--allow-pickle]

The config's model (``Recognizer2D`` or ``Recognizer3D``) runs with
``test_cfg.feature_extraction=True`` on ``data.test`` (a ``VideoDataset``) whose annotation list
is replaced by the videos of ``--video-list`` (one path a line, relative to ``--video-root``).
``--out`` receives one file: a list with one ``float32`` array ``[C]`` per video, in the order of
the list (the backbone's features pooled over space, time and the sampled clips), as
``dataset.dump_results`` writes it (a pickle; JSON/YAML hold nested lists).

The checkpoint may carry weights the feature extractor does not use (a classification head,
as in MMAction2's ``*_clip_feature_extraction_*`` configs, which have no ``cls_head``): those
are skipped with a log line. A weight the model needs but the checkpoint lacks is an error.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from typing import Any

from ..config import Config, add_config_args, load_config
from ..utils.cli_main import run_main
from .test import OUT_SUFFIXES, default_device

__all__ = ['add_arguments', 'build_parser', 'read_video_list', 'enable_feature_extraction',
           'extract_features', 'run', 'main']

logger = logging.getLogger(__name__)

_RECOGNIZERS = ('Recognizer2D', 'Recognizer3D')


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``tools/misc/clip_feature_extraction.py``."""
    parser = argparse.ArgumentParser(
        prog='tools/misc/clip_feature_extraction.py',
        description='Clip-level feature extraction: one pooled backbone feature per video.')
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add MMAction2 0.x's ``clip_feature_extraction.py`` arguments to ``parser``."""
    parser.add_argument('config', help='feature-extraction config (model and data.test)')
    parser.add_argument('checkpoint', help='checkpoint file (.pth/.safetensors)')
    parser.add_argument('--video-list', help='text file with one video path a line')
    parser.add_argument('--video-root', help='directory the paths of --video-list are under')
    parser.add_argument('--out', help='write the features here (.pkl, .json or .yaml); '
                        'default: the config\'s output_config.out')
    parser.add_argument('--fuse-conv-bn', action='store_true',
                        help='fold BatchNorm into the convolutions (slightly faster)')
    parser.add_argument('--gpu-collect', action='store_true',
                        help='gather distributed results with all_gather instead of files')
    parser.add_argument('--tmpdir', help='shared directory for gathering distributed results')
    add_config_args(parser, example='data.test.pipeline.1.num_clips=8')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument('--allow-pickle', action='store_true',
                        help='load a legacy checkpoint that needs full unpickling; this can run '
                        'code from the file, so use it only for files you trust')


def read_video_list(video_list: str | os.PathLike, video_root: str | os.PathLike | None = None
                    ) -> list[str]:
    """The video paths of a list file, one a line (blank lines skipped), checked to exist.

    Args:
        video_list: the list file. A line is one path (spaces allowed); a line holding a TAB
            keeps what is before the first TAB, so a ``path<TAB>label`` list works too.
        video_root: joined in front of every path when checking that the video exists.

    Returns:
        The paths as written in the list (not joined with ``video_root``).

    Raises:
        FileNotFoundError: the list, or one of its videos (named with the list's line), is
            missing.
        ValueError: the list holds no video.
    """
    video_list = os.fspath(video_list)
    if not os.path.isfile(video_list):
        raise FileNotFoundError(f'--video-list {video_list!r}: no such file')
    videos: list[str] = []
    missing: list[str] = []
    with open(video_list, encoding='utf-8') as fin:
        for lineno, line in enumerate(fin, start=1):
            path = line.split('\t', 1)[0].strip()
            if not path:
                continue
            full = os.path.join(os.fspath(video_root), path) if video_root else path
            if not os.path.isfile(full):
                missing.append(f'{video_list}:{lineno}: {full}')
            videos.append(path)
    if missing:
        more = f'\n... and {len(missing) - 5} more' if len(missing) > 5 else ''
        raise FileNotFoundError(f'{len(missing)} video(s) of --video-list not found (paths are '
                                f'relative to --video-root {video_root!r}):\n'
                                + '\n'.join(missing[:5]) + more)
    if not videos:
        raise ValueError(f'--video-list {video_list!r} holds no video path')
    return videos


def enable_feature_extraction(cfg: Config) -> None:
    """Set ``feature_extraction=True`` in the model's ``test_cfg``, in place.

    The deprecated top-level ``test_cfg`` is used when the model dict has none.

    Raises:
        ValueError: the model is not a ``Recognizer2D``/``Recognizer3D``.
    """
    model_type = cfg.model.get('type')
    name = model_type if isinstance(model_type, str) else getattr(model_type, '__name__', '')
    if name not in _RECOGNIZERS:
        raise ValueError(f'{cfg.filename or "the config"}: model.type is {model_type!r}; clip '
                         f'feature extraction runs one of {_RECOGNIZERS}')
    if cfg.model.get('test_cfg') is None and cfg.get('test_cfg') is not None:
        cfg.test_cfg['feature_extraction'] = True
    elif cfg.model.get('test_cfg') is None:
        cfg.model['test_cfg'] = dict(feature_extraction=True)
    else:
        cfg.model.test_cfg['feature_extraction'] = True


def _output_file(cfg: Config, out: str | None) -> str:
    out = out or cfg.get('output_config', {}).get('out')
    if not out:
        raise ValueError('no output file: give --out FEATURES.pkl (or output_config.out in '
                         'the config)')
    if os.path.splitext(out)[1].lower() not in OUT_SUFFIXES:
        raise ValueError(f'--out {out!r}: the file name must end in one of {OUT_SUFFIXES}')
    return out


def _check_test_data(cfg: Config) -> None:
    test = cfg.get('data', {}).get('test')
    if test is None:
        raise ValueError(f'{cfg.filename or "the config"} has no data.test section (the '
                         'dataset and pipeline the videos go through)')
    kind = test.get('type')
    name = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
    if name != 'VideoDataset':
        raise ValueError(f'{cfg.filename or "the config"}: data.test.type is {kind!r}; clip '
                         "feature extraction reads video files, so it must be 'VideoDataset'")


def _load_weights(model: Any, checkpoint: str, allow_pickle: bool) -> None:
    """Load ``checkpoint``; unused checkpoint keys are fine, missing or mis-shaped ones are not."""
    from ..models.weights import CheckpointError, read_checkpoint, load_state_dict

    state = read_checkpoint(checkpoint, map_location='cpu', allow_pickle=allow_pickle)
    state = state.get('state_dict', state)
    state = {key[len('module.'):] if key.startswith('module.') else key: value
             for key, value in state.items() if key != '_metadata'}
    # the head never runs when features are extracted: a checkpoint trained on another label
    # set (or none) is fine
    own = {k: v for k, v in model.state_dict().items() if not k.startswith('cls_head.')}
    unused = [key for key in state if key not in own]
    report = load_state_dict(model, {k: v for k, v in state.items() if k in own}, strict=False)
    report.missing_keys = [k for k in report.missing_keys if not k.startswith('cls_head.')]
    if report.missing_keys or report.shape_mismatches:
        raise CheckpointError(f'checkpoint {checkpoint!r} does not fit the model of the config '
                              f'(features would come from untrained layers):\n'
                              f'{report.describe()}')
    if unused:
        logger.info('%d checkpoint tensors are not used for feature extraction: %s%s',
                    len(unused), ', '.join(unused[:4]), ' ...' if len(unused) > 4 else '')


def _build_model(args: argparse.Namespace, cfg: Config) -> Any:
    from ..models.builder import build_model, turn_off_pretrained
    from ..models.fuse import fuse_conv_bn
    from ..models.module_hooks import register_module_hooks

    turn_off_pretrained(cfg.model)  # the checkpoint brings every weight
    model = build_model(cfg.model, test_cfg=cfg.get('test_cfg'))
    register_module_hooks(model, cfg.get('module_hooks') or [])
    _load_weights(model, args.checkpoint, args.allow_pickle)
    model.eval()
    if args.fuse_conv_bn:
        model = fuse_conv_bn(model)
    return model.to(default_device())


def extract_features(args: argparse.Namespace) -> list | None:
    """Run a parsed command: features of every video of ``--video-list``, written to ``--out``.

    Every rank reads the video list itself (it must be on a disk they all see) and scores its
    share; rank 0 gathers the results, in list order, and writes them.

    Returns:
        On rank 0, one ``float32`` array ``[C]`` per video; ``None`` on the other ranks.

    Raises:
        FileNotFoundError: the checkpoint, the video list or one of its videos is missing.
        ValueError: no ``--video-list``/``--out``, or a config that cannot extract features.
        CheckpointError: the checkpoint lacks weights of the model (or has other shapes).
    """
    from ..apis.test import multi_gpu_test, single_gpu_test
    from ..datasets.builder import build_dataloader, build_dataset, dataloader_args
    import torch.distributed

    from ..engine.dist import barrier, get_dist_info, init_dist

    if not args.video_list:
        raise ValueError('--video-list is required: a text file with one video path a line')
    if '://' not in args.checkpoint and not os.path.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint!r}: no such file')
    cfg = load_config(args)
    out = _output_file(cfg, args.out)
    _check_test_data(cfg)
    enable_feature_extraction(cfg)
    videos = read_video_list(args.video_list, args.video_root)

    distributed = args.launcher != 'none'
    if distributed:
        init_dist(args.launcher, **cfg.get('dist_params', {}))
    with tempfile.TemporaryDirectory(prefix='clip_features_') as tmp:
        ann_file = os.path.join(tmp, 'videos.txt')
        with open(ann_file, 'w', encoding='utf-8') as fout:
            fout.writelines(f'{video}\t0\n' for video in videos)  # the label is not used
        cfg.data.test.update(ann_file=ann_file, data_prefix=args.video_root, test_mode=True)
        dataset = build_dataset(cfg.data.test, dict(test_mode=True))
    loader = build_dataloader(dataset, **dataloader_args(cfg, 'test', distributed))

    model = _build_model(args, cfg)
    if distributed:
        outputs = multi_gpu_test(model, loader, args.tmpdir, args.gpu_collect)
    else:
        outputs = single_gpu_test(model, loader)
    if get_dist_info()[0] == 0:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        dataset.dump_results(outputs, out)
        logger.info('features of %d videos (%s each) written to %s', len(outputs),
                    list(outputs[0].shape) if outputs else [], out)
    if distributed:  # every rank ends after the file is written, and leaves the group cleanly
        barrier()
        torch.distributed.destroy_process_group()
    return outputs


def run(args: argparse.Namespace) -> int:
    """Run parsed arguments (the ``tools/misc/clip_feature_extraction.py`` entry point)."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(message)s')
    extract_features(args)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``) and run; returns the exit status."""
    return run(build_parser().parse_args(argv))


if __name__ == '__main__':
    sys.exit(run_main(main))
