"""Run before importing MMAction2 0.x (mmcv 1.x) in a current Python stack.

The benchmarks that time MMAction2 in its own interpreter put this file's text in front of the
script they send it, so it must run on its own there (no actionkit import).
"""
import sys
import types

import numpy as np

for _name, _kind in (('int', int), ('float', float), ('bool', bool)):
    if not hasattr(np, _name):  # removed in numpy 1.24; MMAction2 0.x still uses them
        setattr(np, _name, _kind)


def _import_torchvision():
    """torchvision if it imports. A wheel whose compiled ops cannot load (PyPI's CUDA wheel on
    a CPU-only torch) fails while registering meta kernels for those ops: skip that step,
    and ``torchvision.ops.roi_align`` falls back to torchvision's own pure-PyTorch version."""
    try:
        import torchvision  # noqa: F401
        return
    except ImportError:
        pass
    except Exception:
        for name in [n for n in sys.modules if n.split('.')[0] == 'torchvision']:
            del sys.modules[name]
        sys.modules['torchvision._meta_registrations'] = types.ModuleType('meta_skipped')
        try:
            import torchvision  # noqa: F401
            return
        except Exception:
            pass
    # mmcv.runner imports torchvision only for its model-zoo URLs
    sys.modules['torchvision'] = types.SimpleNamespace(__version__='0.0.0')


_import_torchvision()


def _mmcv_ops_stand_in():
    """A pure-PyTorch ``mmcv.ops`` for an mmcv 1.x built without its compiled ops, so that
    mmdet 2.x and MMAction2's detectors import and run. It holds what the AVA detectors call:
    RoIAlign (torchvision's compiled ``roi_align`` for avg when it loads; otherwise, and for
    max, mmcv's sampling written as explicit corner gathers: torchvision's own pure-PyTorch
    fallback samples every RoI over the whole map, too slow and large at 2048 channels),
    RoIPool (mmcv's kernel rules, bin by bin) and a greedy nms; every other name is a class
    that refuses to be built."""
    import importlib.abc
    import importlib.machinery
    import math

    import torch
    from torch import nn

    def _bilinear_samples(feat, ys, xs):
        """mmcv's bilinear_interpolate at every (y, x) of ys x xs: [C, len(ys), len(xs)]."""
        height, width = feat.shape[-2:]

        def corners(v, size):
            inside = (v >= -1.0) & (v <= size)
            v = v.clamp(min=0)
            low = v.floor().long()
            top = low >= size - 1
            low = torch.where(top, torch.full_like(low, size - 1), low)
            v = torch.where(top, low.to(v.dtype), v)
            high = torch.where(top, low, low + 1)
            frac = v - low.to(v.dtype)
            return low, high, 1 - frac, frac, inside

        yl, yh, hy, ly, in_y = corners(ys, height)
        xl, xh, hx, lx, in_x = corners(xs, width)
        val = (feat[:, yl][:, :, xl] * (hy[:, None] * hx[None])
               + feat[:, yl][:, :, xh] * (hy[:, None] * lx[None])
               + feat[:, yh][:, :, xl] * (ly[:, None] * hx[None])
               + feat[:, yh][:, :, xh] * (ly[:, None] * lx[None]))
        return val * (in_y[:, None] & in_x[None]).to(val.dtype)

    def roi_align_bins(feat, rois, out_size, scale, sampling_ratio, aligned, mode):
        ph, pw = out_size
        offset = 0.5 if aligned else 0.0
        outs = []
        for roi in rois:
            x1, y1, x2, y2 = (float(v) * scale - offset for v in roi[1:])
            rw, rh = x2 - x1, y2 - y1
            if not aligned:
                rw, rh = max(rw, 1.0), max(rh, 1.0)
            bw, bh = rw / pw, rh / ph
            gh = sampling_ratio if sampling_ratio > 0 else int(math.ceil(rh / ph))
            gw = sampling_ratio if sampling_ratio > 0 else int(math.ceil(rw / pw))
            if gh * gw == 0:  # no sample: mmcv's avg gives 0, its max -FLT_MAX
                outs.append(feat.new_full((feat.shape[1], ph, pw),
                                          0. if mode == 'avg' else -3.4028234663852886e38))
                continue
            ys = torch.tensor([y1 + p * bh + (i + 0.5) * bh / gh for p in range(ph)
                               for i in range(gh)], dtype=feat.dtype)
            xs = torch.tensor([x1 + p * bw + (i + 0.5) * bw / gw for p in range(pw)
                               for i in range(gw)], dtype=feat.dtype)
            val = _bilinear_samples(feat[int(roi[0])], ys, xs)
            val = val.reshape(-1, ph, gh, pw, gw)
            outs.append(val.mean(dim=(2, 4)) if mode == 'avg' else val.amax(dim=(2, 4)))
        return torch.stack(outs) if outs else feat.new_zeros((0, feat.shape[1], ph, pw))

    def _compiled_torchvision_roi_align():
        try:
            from torchvision.extension import _has_ops
            from torchvision.ops import roi_align
        except Exception:
            return None
        return roi_align if _has_ops() else None

    class RoIAlign(nn.Module):
        def __init__(self, output_size, spatial_scale=1.0, sampling_ratio=0, pool_mode='avg',
                     aligned=True, use_torchvision=False):
            super().__init__()
            self.output_size = tuple(output_size) if isinstance(output_size, (tuple, list)) \
                else (output_size, output_size)
            self.spatial_scale = float(spatial_scale)
            self.sampling_ratio = int(sampling_ratio)
            self.pool_mode = pool_mode
            self.aligned = aligned

        def forward(self, feat, rois):
            compiled = _compiled_torchvision_roi_align()
            if self.pool_mode == 'avg' and compiled is not None:
                return compiled(feat, rois, self.output_size, self.spatial_scale,
                                self.sampling_ratio, self.aligned)
            return roi_align_bins(feat, rois, self.output_size, self.spatial_scale,
                                  self.sampling_ratio, self.aligned, self.pool_mode)

    class RoIPool(nn.Module):
        def __init__(self, output_size, spatial_scale=1.0):
            super().__init__()
            self.output_size = tuple(output_size) if isinstance(output_size, (tuple, list)) \
                else (output_size, output_size)
            self.spatial_scale = float(spatial_scale)

        def forward(self, feat, rois):
            ph, pw = self.output_size
            height, width = feat.shape[-2:]
            out = feat.new_zeros((len(rois), feat.shape[1], ph, pw))
            f32 = torch.float32
            for n, roi in enumerate(rois):
                x1, y1 = (roi[1:3].to(f32) * self.spatial_scale).tolist()
                x2, y2 = ((roi[3:5].to(f32) + 1) * self.spatial_scale).tolist()
                if x2 - x1 <= 0 or y2 - y1 <= 0:
                    continue
                bw, bh = (x2 - x1) / pw, (y2 - y1) / ph
                for i in range(ph):
                    ya = min(max(math.floor(i * bh + y1), 0), height)
                    yb = min(max(math.ceil((i + 1) * bh + y1), 0), height)
                    for j in range(pw):
                        xa = min(max(math.floor(j * bw + x1), 0), width)
                        xb = min(max(math.ceil((j + 1) * bw + x1), 0), width)
                        if yb > ya and xb > xa:
                            out[n, :, i, j] = feat[int(roi[0]), :, ya:yb, xa:xb].amax(
                                dim=(1, 2))
            return out

    def nms(boxes, scores, iou_threshold, offset=0, score_threshold=0, max_num=-1):
        order = scores.argsort(descending=True)
        keep = []
        areas = (boxes[:, 2] - boxes[:, 0] + offset) * (boxes[:, 3] - boxes[:, 1] + offset)
        while len(order):
            i = int(order[0])
            keep.append(i)
            rest = order[1:]
            lt = torch.maximum(boxes[i, :2], boxes[rest, :2])
            rb = torch.minimum(boxes[i, 2:4], boxes[rest, 2:4])
            inter = (rb - lt + offset).clamp(min=0).prod(dim=1)
            iou = inter / (areas[i] + areas[rest] - inter)
            order = rest[iou <= iou_threshold]
        inds = torch.tensor(keep, dtype=torch.long)
        if max_num > 0:
            inds = inds[:max_num]
        return torch.cat([boxes[inds], scores[inds, None]], 1), inds

    def batched_nms(boxes, scores, idxs, nms_cfg, class_agnostic=False):
        shift = 0 if class_agnostic else idxs.to(boxes) * (boxes.max() + 1)
        shifted = boxes + (shift[:, None] if torch.is_tensor(shift) else 0)
        _, keep = nms(shifted, scores, nms_cfg.get('iou_threshold', 0.5))
        return torch.cat([boxes[keep], scores[keep, None]], 1), keep

    def _refuse(name):
        def __init__(self, *args, **kwargs):
            raise NotImplementedError('mmcv.ops.%s is not compiled here' % name)
        return type(name, (nn.Module,), {'__init__': __init__, '__call__': __init__})

    ops = types.ModuleType('mmcv.ops')
    ops.__path__ = []
    known = dict(RoIAlign=RoIAlign, RoIPool=RoIPool, nms=nms, batched_nms=batched_nms)
    for key, value in known.items():
        setattr(ops, key, value)

    def __getattr__(name):
        if name.startswith('__'):
            raise AttributeError(name)
        value = _refuse(name)
        setattr(ops, name, value)
        return value

    ops.__getattr__ = __getattr__

    class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, fullname, path=None, target=None):
            if fullname.startswith('mmcv.ops.'):
                return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
            return None

        def create_module(self, spec):
            sub = types.ModuleType(spec.name)
            sub.__path__ = []
            sub.__getattr__ = lambda name: getattr(ops, name)
            return sub

        def exec_module(self, module):
            pass

    sys.meta_path.insert(0, _Finder())
    return ops


try:
    import importlib.util
    _HAS_MMCV_EXT = importlib.util.find_spec('mmcv._ext') is not None
except Exception:  # no mmcv at all
    _HAS_MMCV_EXT = True
if not _HAS_MMCV_EXT:
    import mmcv
    mmcv.ops = sys.modules['mmcv.ops'] = _mmcv_ops_stand_in()
