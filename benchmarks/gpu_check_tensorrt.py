"""GPU check of the TensorRT path: export TSN-R50 -> ONNX -> TensorRT engine -> compare.

For a machine with an NVIDIA GPU, ``tensorrt`` (``pip install tensorrt``) and, for the
onnxruntime reference on the GPU, ``onnxruntime-gpu``. In one go it:

1. builds TSN-R50 (or TSM-R50) with random weights (or ``--checkpoint``) and exports it with
   ``pytorch2onnx(..., verify=True)``, once with a fixed batch and once with a dynamic one;
2. builds TensorRT engines from both with ``actionkit.export.tensorrt.build_engine``;
3. runs the engines through ``TensorRTModel`` (and the fixed one through
   ``run_exported('tensorrt', ...)``, as ``tools/test.py --tensorrt`` does) and compares them
   with onnxruntime on the same input: max abs difference and top-1 agreement;
4. prints the latency of PyTorch eager (CUDA), onnxruntime and TensorRT.

Exits 0 when every comparison is within tolerance (fp32: ``1e-3 + 1e-3 * |x|``; fp16: 5e-2 on
the scores plus identical top-1), 1 otherwise.

Run:
    python benchmarks/gpu_check_tensorrt.py                    # TSN-R50, batch 4, fp32
    python benchmarks/gpu_check_tensorrt.py --arch tsm_r50 --fp16
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from actionkit.export.onnx import pytorch2onnx
from actionkit.export.runtime import OnnxModel, run_exported
from actionkit.export.tensorrt import TensorRTModel, build_engine, import_tensorrt
from actionkit.models import build_model

_R50 = dict(depth=50, pretrained=None, norm_eval=False)
ARCHS = {
    'tsn_r50': (dict(type='Recognizer2D', backbone=dict(type='ResNet', **_R50),
                     cls_head=dict(type='TSNHead', num_classes=400, in_channels=2048),
                     test_cfg=dict(average_clips=None)), (3, 3, 224, 224)),
    'tsm_r50': (dict(type='Recognizer2D', backbone=dict(type='ResNetTSM', **_R50),
                     cls_head=dict(type='TSMHead', num_classes=400, in_channels=2048),
                     test_cfg=dict(average_clips=None)), (8, 3, 224, 224)),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', choices=sorted(ARCHS), default='tsn_r50')
    parser.add_argument('--checkpoint', help='weights to load (default: random, seed 0)')
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--fp16', action='store_true', help='build fp16 engines')
    parser.add_argument('--iters', type=int, default=20, help='timed passes per runtime')
    parser.add_argument('--workdir', help='keep the .onnx / .engine files here')
    return parser.parse_args()


def _latency_ms(run: Callable[[], Any], iters: int) -> float:
    for _ in range(3):
        run()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        run()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def _compare(name: str, got: np.ndarray, want: np.ndarray, fp16: bool) -> bool:
    diff = float(np.abs(got.astype(np.float64) - want).max())
    same_top1 = bool((got.argmax(axis=1) == want.argmax(axis=1)).all())
    ok = (diff <= 5e-2 if fp16 else bool(np.all(np.abs(got - want) <= 1e-3 + 1e-3 *
                                                 np.abs(want)))) and same_top1
    print(f'{name:<44} max abs diff {diff:.2e}  top-1 equal: {same_top1}  '
          f'{"OK" if ok else "FAILED"}')
    return ok


class _Loader(list):
    """A one-batch stand-in for a test data loader."""

    def __init__(self, imgs: torch.Tensor) -> None:
        super().__init__([dict(imgs=imgs)])
        self.dataset = range(len(imgs))


def main() -> int:
    args = parse_args()
    if not torch.cuda.is_available():
        print('error: no CUDA GPU visible to torch; this check needs one', file=sys.stderr)
        return 2
    trt = import_tensorrt()  # raises with the install hint
    print(f'torch {torch.__version__}, TensorRT {trt.__version__}, '
          f'{torch.cuda.get_device_name()}')
    cfg, sample = ARCHS[args.arch]
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    if args.checkpoint:
        from actionkit.models.weights import load_checkpoint
        load_checkpoint(model, args.checkpoint, strict=True)
    shape = (args.batch,) + sample
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    folder = args.workdir or tempfile.mkdtemp(prefix='gpu_check_')
    os.makedirs(folder, exist_ok=True)
    ok = True

    fixed_onnx = os.path.join(folder, f'{args.arch}.onnx')
    dynamic_onnx = os.path.join(folder, f'{args.arch}_dynamic.onnx')
    for path, dynamic in ((fixed_onnx, False), (dynamic_onnx, True)):
        result = pytorch2onnx(model, shape, output_file=path, verify=True,
                              dynamic_export=dynamic)
        print(f'exported {path} ({result.exporter}, opset {result.opset_version}): verify '
              f'max abs diff {result.verification.max_abs_diff:.2e}')
        ok &= result.verification.passed
    fixed_engine = build_engine(fixed_onnx, fixed_onnx[:-5] + '.engine', fp16=args.fp16)
    dynamic_engine = build_engine(dynamic_onnx, dynamic_onnx[:-5] + '.engine', fp16=args.fp16,
                                  max_batch_size=args.batch)

    onnx_model = OnnxModel(fixed_onnx)
    reference = onnx_model(x.numpy())
    trt_fixed = TensorRTModel(fixed_engine)
    ok &= _compare('TensorRT fixed batch vs onnxruntime', trt_fixed(x), reference, args.fp16)
    trt_dynamic = TensorRTModel(dynamic_engine)
    smaller = max(1, args.batch - 1)
    ok &= _compare(f'TensorRT dynamic batch ({smaller}) vs onnxruntime',
                   trt_dynamic(x[:smaller]), OnnxModel(dynamic_onnx)(x[:smaller].numpy()),
                   args.fp16)
    via_test = np.stack(run_exported('tensorrt', fixed_engine, _Loader(x), show=False))
    ok &= _compare('run_exported(tensorrt) vs onnxruntime', via_test, reference, args.fp16)

    cuda_model = model.cuda()
    x_cuda = x.cuda()
    with torch.inference_mode():
        eager_ms = _latency_ms(lambda: cuda_model.forward_dummy(x_cuda), args.iters)
    onnx_ms = _latency_ms(lambda: onnx_model(x.numpy()), args.iters)
    trt_ms = _latency_ms(lambda: trt_fixed.run(x_cuda), args.iters)
    provider = onnx_model.session.get_providers()[0]
    print(f'\n{"runtime":<34} {"ms/batch":>9}   input {"x".join(map(str, shape))}')
    print(f'{"torch eager (CUDA)":<34} {eager_ms:9.2f}')
    print(f'{"onnxruntime (" + provider + ")":<34} {onnx_ms:9.2f}')
    print(f'{"TensorRT" + (" fp16" if args.fp16 else ""):<34} {trt_ms:9.2f}')
    print(f'\nfiles in {folder}')
    print('ALL CHECKS PASSED' if ok else 'SOME CHECKS FAILED')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
