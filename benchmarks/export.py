"""Benchmark: CPU latency of onnxruntime vs. PyTorch eager (and torch.compile) per architecture.

Each architecture is built at full size with random weights (the timings do not depend on
them), exported once with ``pytorch2onnx(..., dynamic_export=True)`` (``--exporter``; the
TorchScript exporter by default here, as torch's dynamo exporter takes a minute or more per
ResNet-50 on 2 cores) and timed at every batch size: the median wall time of ``--iters``
forward passes after ``--warmup`` ones, on the same random input, the variants taking turns
pass by pass. Rows:

* ``eager``: ``model.forward_dummy`` under ``torch.inference_mode``;
* ``eager channels_last``: the same with the weights in channels-last memory format;
* ``eager fused``: BatchNorm folded into the convolutions (``actionkit.models.fuse``);
* ``onnxruntime``: the exported file, ``ORT_ENABLE_ALL`` graph optimizations, ``--threads``
  intra-op threads;
* ``onnxruntime fused``: the export of the conv-bn-fused model;
* ``torch.compile`` (with ``--compile``): inductor, compiled and timed in a child process that
  is stopped after ``--compile-timeout`` seconds.

Run (times on a busy 2-core VM):
    python benchmarks/export.py --quick                  # TSN-R50, batch 1: ~1 min
    python benchmarks/export.py                          # TSN-R50 and TSM-R50, batch 1: ~4 min
    python benchmarks/export.py --batch 1 8 --variants eager onnxruntime      # ~15 min
    python benchmarks/export.py --arch i3d_r50 x3d_s --variants eager onnxruntime
    python benchmarks/export.py --arch tsn_r50 --compile --compile-timeout 300
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch

from actionkit.export.onnx import pytorch2onnx
from actionkit.models import build_model
from actionkit.models.fuse import fuse_conv_bn

# name -> (model config, one sample's input shape, what the shape means)
_R50 = dict(depth=50, pretrained=None, norm_eval=False)
ARCHS: dict[str, tuple[dict, tuple[int, ...], str]] = {
    'tsn_r50': (dict(type='Recognizer2D', backbone=dict(type='ResNet', **_R50),
                     cls_head=dict(type='TSNHead', num_classes=400, in_channels=2048),
                     test_cfg=dict(average_clips='prob')),
                (3, 3, 224, 224), '1x1x3, 3 segments at 224'),
    'tsm_r50': (dict(type='Recognizer2D', backbone=dict(type='ResNetTSM', **_R50),
                     cls_head=dict(type='TSMHead', num_classes=400, in_channels=2048),
                     test_cfg=dict(average_clips='prob')),
                (8, 3, 224, 224), '1x1x8, 8 segments at 224'),
    'slowonly_r50': (dict(type='Recognizer3D',
                          backbone=dict(type='ResNet3dSlowOnly', depth=50, pretrained=None),
                          cls_head=dict(type='I3DHead', num_classes=400, in_channels=2048),
                          test_cfg=dict(average_clips='prob')),
                     (1, 3, 8, 224, 224), '8x8x1, one clip of 8 frames at 224'),
    'i3d_r50': (dict(type='Recognizer3D',
                     backbone=dict(type='ResNet3d', pretrained2d=False, conv1_kernel=(5, 7, 7),
                                   conv1_stride_t=2, pool1_stride_t=2,
                                   inflate=((1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0),
                                            (0, 1, 0)), **_R50),
                     cls_head=dict(type='I3DHead', num_classes=400, in_channels=2048),
                     test_cfg=dict(average_clips='prob')),
                (1, 3, 32, 224, 224), '32x2x1, one clip of 32 frames at 224'),
    'x3d_s': (dict(type='Recognizer3D', backbone=dict(type='X3D', gamma_w=1, gamma_b=2.25,
                                                       gamma_d=2.2),
                   cls_head=dict(type='X3DHead', in_channels=432, num_classes=400,
                                 fc1_bias=False),
                   test_cfg=dict(average_clips='prob')),
              (1, 3, 13, 160, 160), '13x6x1, one clip of 13 frames at 160'),
}
VARIANTS = ('eager', 'eager channels_last', 'eager fused', 'onnxruntime', 'onnxruntime fused')
_DEFAULT_VARIANTS = ('eager', 'eager channels_last', 'onnxruntime', 'onnxruntime fused')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', nargs='+', default=['tsn_r50', 'tsm_r50'],
                        choices=sorted(ARCHS) + ['all'])
    parser.add_argument('--batch', nargs='+', type=int, default=[1],
                        help='batch sizes (batch 8 of TSM-R50 is 64 ResNet-50 frames: minutes '
                        'per variant on 2 cores)')
    parser.add_argument('--variants', nargs='+', default=list(_DEFAULT_VARIANTS),
                        choices=VARIANTS)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--iters', type=int, default=3,
                        help='timed passes; the variants take turns, so that a busy machine '
                        'slows them alike')
    parser.add_argument('--threads', type=int, default=os.cpu_count() or 1,
                        help='torch and onnxruntime intra-op threads')
    parser.add_argument('--exporter', choices=['auto', 'dynamo', 'torchscript'],
                        default='torchscript',
                        help='torchscript (default here: seconds instead of a minute per '
                        'ResNet-50 on 2 cores) or auto / dynamo (torch\'s default exporter)')
    parser.add_argument('--compile', action='store_true', help='also time torch.compile')
    parser.add_argument('--compile-timeout', type=float, default=240,
                        help='seconds for compiling and timing one architecture and batch')
    parser.add_argument('--quick', action='store_true',
                        help='TSN-R50 only, eager vs onnxruntime, 2 timed passes')
    args = parser.parse_args(argv)
    if 'all' in args.arch:
        args.arch = sorted(ARCHS)
    if args.quick:
        args.arch, args.batch, args.iters = ['tsn_r50'], [1], 2
        args.variants = ['eager', 'onnxruntime']
    return args


def _build(arch: str, fused: bool = False) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model(ARCHS[arch][0]).eval()
    return fuse_conv_bn(model) if fused else model


def _input(arch: str, batch: int) -> torch.Tensor:
    return torch.randn((batch,) + ARCHS[arch][1], generator=torch.Generator().manual_seed(1))


def _eager_runner(model: torch.nn.Module, x: torch.Tensor,
                  channels_last: bool = False) -> Callable[[], Any]:
    if channels_last:  # the weights; the convolutions then keep their outputs channels-last
        layout = torch.channels_last_3d if x.dim() == 6 else torch.channels_last
        model = model.to(memory_format=layout)

    def run() -> Any:
        with torch.inference_mode():
            return model.forward_dummy(x)
    return run


def _interleaved_ms(runners: dict[str, Callable[[], Any]], warmup: int,
                    iters: int) -> dict[str, float]:
    """Median ms of each runner, timed in turns so that a busy machine slows all alike."""
    for run in runners.values():
        for _ in range(warmup):
            run()
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(iters):
        for name, run in runners.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: 1000 * statistics.median(t) for name, t in times.items()}


def _session(path: str, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])


def _export(model: torch.nn.Module, arch: str, folder: str, tag: str,
            exporter: str) -> tuple[str, str, float]:
    path = os.path.join(folder, f'{arch}_{tag}.onnx')
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        result = pytorch2onnx(model, (1,) + ARCHS[arch][1], output_file=path,
                              dynamic_export=True, exporter=exporter)
    return path, result.exporter, time.perf_counter() - start


def _no_grad(function: Callable[[torch.Tensor], Any], x: torch.Tensor) -> Callable[[], Any]:
    def run() -> Any:
        with torch.inference_mode():
            return function(x)
    return run


def _compile_worker(arch: str, batch: int, warmup: int, iters: int, threads: int,
                    queue: Any) -> None:
    torch.set_num_threads(threads)
    try:
        model, x = _build(arch), _input(arch, batch)
        compiled = torch.compile(model.forward_dummy)
        with torch.inference_mode():
            start = time.perf_counter()
            compiled(x)
            compile_s = time.perf_counter() - start
        timed = _interleaved_ms({'compiled': _no_grad(compiled, x)}, warmup, iters)
        queue.put(('ok', timed['compiled'], compile_s))
    except Exception as err:  # report any compile failure as a row
        queue.put(('error', f'{type(err).__name__}: {str(err).splitlines()[0][:80]}', 0.0))


def _time_compiled(arch: str, batch: int, args: argparse.Namespace) -> tuple[str, float | None]:
    context = multiprocessing.get_context('spawn')
    queue = context.Queue()
    child = context.Process(target=_compile_worker, args=(arch, batch, args.warmup, args.iters,
                                                          args.threads, queue))
    child.start()
    child.join(args.compile_timeout)
    if child.is_alive():
        child.terminate()
        child.join()
        return f'timed out after {args.compile_timeout:.0f} s', None
    if queue.empty():
        return f'child exited with code {child.exitcode}', None
    status, value, compile_s = queue.get()
    if status != 'ok':
        return value, None
    return f'compiled in {compile_s:.0f} s', value


def bench_arch(arch: str, args: argparse.Namespace, folder: str) -> list[tuple]:
    """Rows ``(arch, batch, variant, ms, note)`` of one architecture."""
    model = _build(arch)
    fused = _build(arch, fused=True) if any('fused' in v for v in args.variants) else None
    sessions: dict[str, tuple[Any, str]] = {}
    for variant, source in (('onnxruntime', model), ('onnxruntime fused', fused)):
        if variant in args.variants:
            path, used, seconds = _export(source, arch, folder, variant.split()[-1],
                                          args.exporter)
            sessions[variant] = (_session(path, args.threads), f'{used} export {seconds:.0f} s')
    rows: list[tuple] = []
    for batch in args.batch:
        x = _input(arch, batch)
        runners: dict[str, Callable[[], Any]] = {}
        for variant in args.variants:
            if variant in sessions:
                session = sessions[variant][0]
                feed = {session.get_inputs()[0].name: x.numpy()}
                runners[variant] = lambda session=session, feed=feed: session.run(None, feed)
            else:
                runners[variant] = _eager_runner(
                    fused if variant == 'eager fused' else _build(arch), x,
                    channels_last=variant == 'eager channels_last')
        timed = _interleaved_ms(runners, args.warmup, args.iters)
        for variant, ms in timed.items():
            note = sessions[variant][1] if variant in sessions else ''
            rows.append((arch, batch, variant, ms, note))
            print(f'  {arch} batch {batch} {variant}: {ms:.1f} ms', file=sys.stderr, flush=True)
        if args.compile:
            note, ms = _time_compiled(arch, batch, args)
            rows.append((arch, batch, 'torch.compile', ms, note))
    return rows


def print_table(rows: list[tuple]) -> None:
    eager = {(a, b): ms for a, b, v, ms, _ in rows if v == 'eager'}
    print(f'\n{"arch":<13} {"input":<18} {"variant":<20} {"ms/batch":>9} {"vs eager":>8}  note')
    for arch, batch, variant, ms, note in rows:
        shape = 'x'.join(str(d) for d in (batch,) + ARCHS[arch][1])
        shown = f'{ms:9.1f}' if ms is not None else f'{"-":>9}'
        ratio = f'{eager[(arch, batch)] / ms:7.2f}x' if ms and (arch, batch) in eager \
            else f'{"-":>8}'
        print(f'{arch:<13} {shape:<18} {variant:<20} {shown} {ratio}  {note}')


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f'torch {torch.__version__}, {args.threads} threads, median of {args.iters} passes '
          f'after {args.warmup} warm-up; input shapes are N x per-sample shape', file=sys.stderr)
    rows: list[tuple] = []
    with tempfile.TemporaryDirectory() as folder:
        for arch in args.arch:
            rows += bench_arch(arch, args, folder)
    print_table(rows)


if __name__ == '__main__':
    main()
