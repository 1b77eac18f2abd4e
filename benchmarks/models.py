"""Parameters, FLOPs and CPU latency of the 3D recognizers at their configs' test input.

For each architecture the shipped config is built from scratch (``pretrained=None``, random
weights) and fed one view of its test pipeline's clip (batch 1), e.g. 1x3x32x256x256 for I3D
(10 clips x 3 crops of 256: the per-view input the model zoo's GFLOPs refer to).

FLOPs are counted analytically with forward hooks on the ``meta`` device (shapes only), as
multiply-adds (the convention of fvcore and of the papers' GFLOPs): convolutions, linear layers
and the attention matmuls (``nn.MultiheadAttention``, Swin's window attention, non-local
blocks); norms, activations and pooling are not counted (``actionkit.analysis.flops`` follows
mmcv's rules and counts those too, so its totals are a little higher).

Latency is the median of up to ``--runs`` timed ``forward_dummy`` calls after ``--warmup``
untimed ones, under ``torch.no_grad()``; timing stops early (after at least one timed call)
once an architecture has used ``--budget-s`` seconds, which keeps the default run of the heavy
models (CSN-152, TimeSformer, Swin) short on a small CPU.

With ``--device cuda`` the table instead gives, per architecture, training and inference
throughput on the GPU with AMP (float16 autocast; training with a dynamic loss scale and SGD):
``--batch`` clips of that same per-view shape per step (halved until it fits), clips/s over
``--gpu-iters`` steps after ``--gpu-warmup`` (cudnn.benchmark on, timed between
``torch.cuda.synchronize()`` calls), and the peak memory of the training step.

Usage::

    python benchmarks/models.py                      # every architecture, 1 warm-up + <= 3 runs
    python benchmarks/models.py --arch i3d x3d_s     # a subset
    python benchmarks/models.py --no-latency         # params and FLOPs only (seconds)
    python benchmarks/models.py --device cuda        # GPU train / inference clips/s with AMP
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from actionkit.config import Config  # noqa: E402
from actionkit.models import build_model  # noqa: E402
from actionkit.models.backbones.swin import WindowAttention3D  # noqa: E402

ARCHS = {
    'i3d': 'i3d/i3d_r50_32x2x1_100e_kinetics400_rgb.py',
    'i3d_nl': 'i3d/i3d_nl_dot_product_r50_32x2x1_100e_kinetics400_rgb.py',
    'slowonly': 'slowonly/slowonly_r50_4x16x1_256e_kinetics400_rgb.py',
    'slowfast': 'slowfast/slowfast_r50_4x16x1_256e_kinetics400_rgb.py',
    'r2plus1d': 'r2plus1d/r2plus1d_r34_8x8x1_180e_kinetics400_rgb.py',
    'c3d': 'c3d/c3d_sports1m_16x1x1_45e_ucf101_rgb.py',
    'x3d_s': 'x3d/x3d_s_13x6x1_facebook_kinetics400_rgb.py',
    'x3d_m': 'x3d/x3d_m_16x5x1_facebook_kinetics400_rgb.py',
    'ircsn_r152': 'csn/ircsn_ig65m_pretrained_r152_32x2x1_58e_kinetics400_rgb.py',
    'timesformer': 'timesformer/timesformer_divST_8x32x1_15e_kinetics400_rgb.py',
    'swin_t': 'swin/swin_tiny_patch244_window877_kinetics400_1k.py',
    'tpn_slowonly': 'tpn/tpn_slowonly_r50_8x8x1_150e_kinetics_rgb.py',
}


def test_input(cfg: Config) -> tuple[int, ...]:
    """``[1, 1, C, T, H, W]``: one view of the test pipeline's clip."""
    steps = {step['type']: step for step in cfg.data['test']['pipeline']}
    crop = next(steps[k]['crop_size'] for k in ('ThreeCrop', 'CenterCrop') if k in steps)
    return (1, 1, 3, steps['SampleFrames']['clip_len'], crop, crop)


def build(config: str) -> tuple[nn.Module, tuple[int, ...]]:
    cfg = Config.fromfile(str(ROOT / 'configs' / 'recognition' / config))
    backbone = cfg.model.backbone
    backbone['pretrained'] = None
    for pathway in ('slow_pathway', 'fast_pathway'):
        if pathway in backbone:
            backbone[pathway]['pretrained'] = None
    return build_model(cfg.model).eval(), test_input(cfg)


def _conv_flops(module: nn.Module, inputs: tuple, output: torch.Tensor) -> int:
    per_output = module.in_channels // module.groups
    for k in module.kernel_size:
        per_output *= k
    return output.numel() * per_output


def _linear_flops(module: nn.Module, inputs: tuple, output: torch.Tensor) -> int:
    return output.numel() * module.in_features


def _mha_flops(module: nn.Module, inputs: tuple, output: tuple) -> int:
    query, key = inputs[0], inputs[1]
    embed = module.embed_dim
    tokens_q, tokens_k = query.numel() // embed, key.numel() // embed
    length_k = key.shape[1] if module.batch_first else key.shape[0]
    projections = (tokens_q + 2 * tokens_k) * embed * embed + tokens_q * embed * embed
    return projections + 2 * tokens_q * length_k * embed  # q k^T and attn v


def _window_attention_flops(module: nn.Module, inputs: tuple, output: torch.Tensor) -> int:
    windows, tokens, channels = inputs[0].shape
    return 2 * windows * tokens * tokens * channels  # qkv and proj are hooked Linears


def _non_local_flops(module: nn.Module, inputs: tuple, output: torch.Tensor) -> int:
    x = inputs[0]
    positions = x[0, 0].numel()
    pooled = positions // 4 if module.sub_sample else positions
    return 2 * x.shape[0] * positions * pooled * module.inter_channels


def count_flops(model: nn.Module, imgs: torch.Tensor) -> int:
    """Multiply-adds of ``model.forward_dummy(imgs)``, counted by forward hooks."""
    total = [0]
    handles = []

    def add(rule):
        def hook(module, inputs, output):
            total[0] += rule(module, inputs, output)
        return hook

    for module in model.modules():
        rule = None
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            rule = _conv_flops
        elif isinstance(module, nn.Linear):
            rule = _linear_flops
        elif isinstance(module, nn.MultiheadAttention):
            rule = _mha_flops
        elif isinstance(module, WindowAttention3D):
            rule = _window_attention_flops
        elif hasattr(module, 'inter_channels') and hasattr(module, 'sub_sample'):
            rule = _non_local_flops
        if rule is not None:
            handles.append(module.register_forward_hook(add(rule)))
    try:
        with torch.no_grad():
            model.forward_dummy(imgs)
    finally:
        for handle in handles:
            handle.remove()
    return total[0]


def latency_ms(model: nn.Module, imgs: torch.Tensor, warmup: int, runs: int,
               budget_s: float) -> list[float]:
    """Milliseconds of each timed forward: at least one, at most ``runs``."""
    times: list[float] = []
    begin = time.perf_counter()
    with torch.no_grad():
        for _ in range(warmup):
            model.forward_dummy(imgs)
        while len(times) < max(runs, 1):
            start = time.perf_counter()
            model.forward_dummy(imgs)
            times.append((time.perf_counter() - start) * 1000)
            if time.perf_counter() - begin > budget_s:
                break
    return times


def _gpu_rate(step, iters: int, warmup: int) -> float:
    """Calls of ``step`` per second on the GPU."""
    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(iters):
        step()
    torch.cuda.synchronize()
    return iters / (time.perf_counter() - start)


def gpu_throughput(model: nn.Module, shape: tuple[int, ...], batch: int, iters: int,
                   warmup: int) -> dict:
    """AMP training and inference clips/s of ``model`` on the GPU, ``batch`` clips per step."""
    device = torch.device('cuda')
    model = model.to(device)
    num_classes = model.cls_head.num_classes
    imgs = torch.randn((batch,) + shape[1:], device=device)
    labels = torch.randint(0, num_classes, (batch, 1), device=device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    scaler = torch.amp.GradScaler('cuda')

    def train_step() -> None:
        with torch.autocast('cuda', dtype=torch.float16):
            losses = model(imgs, labels, return_loss=True)
            loss = sum(v for k, v in losses.items() if 'loss' in k)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    @torch.no_grad()
    def infer_step() -> None:
        with torch.autocast('cuda', dtype=torch.float16):
            model.forward_dummy(imgs)

    model.train()
    torch.cuda.reset_peak_memory_stats()
    train = _gpu_rate(train_step, iters, warmup) * batch
    memory = torch.cuda.max_memory_allocated() / 2**30
    model.eval()
    infer = _gpu_rate(infer_step, iters, warmup) * batch
    return dict(batch=batch, train=train, infer=infer, memory=memory)


def gpu_main(args: argparse.Namespace) -> None:
    torch.backends.cudnn.benchmark = True
    print(f'{torch.cuda.get_device_name()}, AMP float16, {args.gpu_iters} steps after '
          f'{args.gpu_warmup}')
    header = (f'{"arch":<12} {"view (C,T,H,W)":<20} {"batch":>5} {"train clips/s":>14} '
              f'{"infer clips/s":>14} {"train peak GiB":>15}')
    print(header)
    print('-' * len(header))
    for arch in args.arch:
        batch = args.batch
        while True:
            model, shape = build(ARCHS[arch])
            try:
                row = gpu_throughput(model, shape, batch, args.gpu_iters, args.gpu_warmup)
                break
            except torch.OutOfMemoryError:
                del model
                torch.cuda.empty_cache()
                if batch == 1:
                    raise
                batch //= 2
        del model
        torch.cuda.empty_cache()
        print(f'{arch:<12} {str(shape[2:]):<20} {row["batch"]:>5} {row["train"]:>14.1f} '
              f'{row["infer"]:>14.1f} {row["memory"]:>15.1f}', flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--arch', nargs='+', choices=sorted(ARCHS), default=list(ARCHS),
                        help='architectures to measure (default: all)')
    parser.add_argument('--warmup', type=int, default=1, help='untimed forward passes')
    parser.add_argument('--runs', type=int, default=3, help='timed forward passes (at most)')
    parser.add_argument('--budget-s', type=float, default=10.0,
                        help='stop timing an architecture after this many seconds')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument('--no-latency', action='store_true', help='skip the timing')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'],
                        help='cuda: GPU training / inference throughput with AMP instead')
    parser.add_argument('--batch', type=int, default=8, help='GPU: clips per step')
    parser.add_argument('--gpu-iters', type=int, default=10, help='GPU: timed steps')
    parser.add_argument('--gpu-warmup', type=int, default=3, help='GPU: untimed steps')
    args = parser.parse_args(argv)
    if args.device == 'cuda':
        if not torch.cuda.is_available():
            raise SystemExit('--device cuda: torch sees no GPU')
        torch.manual_seed(0)
        gpu_main(args)
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    header = (f'{"arch":<12} {"input (N,V,C,T,H,W)":<24} {"params (M)":>10} {"GFLOPs":>8} '
              f'{"latency ms":>11} {"min ms":>8} {"runs":>5}')
    print(f'CPU threads: {torch.get_num_threads()}, warm-up {args.warmup}, runs {args.runs}')
    print(header)
    print('-' * len(header))
    begin = time.perf_counter()
    for arch in args.arch:
        with torch.device('meta'):  # shapes only: FLOPs and parameters in no time
            meta_model, shape = build(ARCHS[arch])
            gflops = count_flops(meta_model, torch.empty(shape)) / 1e9
        params = sum(p.numel() for p in meta_model.parameters()) / 1e6
        times: list[float] = []
        if not args.no_latency:
            model, _ = build(ARCHS[arch])
            times = latency_ms(model, torch.rand(shape), args.warmup, args.runs, args.budget_s)
            del model
        median = statistics.median(times) if times else float('nan')
        fastest = min(times) if times else float('nan')
        print(f'{arch:<12} {str(shape):<24} {params:>10.2f} {gflops:>8.2f} {median:>11.0f} '
              f'{fastest:>8.0f} {len(times):>5}', flush=True)
    print(f'total {time.perf_counter() - begin:.0f} s')


if __name__ == '__main__':
    main()
