"""Skeleton pipelines in clips per second: PoseC3D's heatmap pipelines (where
``GeneratePoseTarget`` is the cost) and the GCN pipelines, on synthetic clips (one person,
COCO's 17 joints, 300 frames, a 320 x 240 frame).

    python benchmarks/skeleton_pipeline.py            # ~1 min on 2 cores
    python benchmarks/skeleton_pipeline.py --clips 20

Each pipeline is MMAction2's config pipeline (``configs/skeleton/``), run in this process.
"""
from __future__ import annotations

import argparse
import copy
import time

from actionkit.config import Config
from actionkit.datasets.pipelines import Compose
from actionkit.datasets.synthetic_pose import IMG_SHAPE, render_pose_clip

PIPELINES = {
    'PoseC3D joints, train (48 frames, 56 px)':
        ('configs/skeleton/posec3d/slowonly_r50_u48_240e_ntu60_xsub_keypoint.py', 'train'),
    'PoseC3D limbs, val (48 frames, 64 px)':
        ('configs/skeleton/posec3d/slowonly_r50_u48_240e_ntu60_xsub_limb.py', 'val'),
    'PoseC3D limbs, test (10 clips x 2 flips)':
        ('configs/skeleton/posec3d/slowonly_r50_u48_240e_ntu60_xsub_limb.py', 'test'),
    'ST-GCN, 300 frames':
        ('configs/skeleton/stgcn/stgcn_80e_ntu60_xsub_keypoint.py', 'train'),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--clips', type=int, default=10)
    args = parser.parse_args()
    samples = []
    for i in range(args.clips):
        kp, score = render_pose_clip(i % 6, i, num_frames=300)
        samples.append(dict(frame_dir=f'clip{i}', label=i % 6, img_shape=IMG_SHAPE,
                            original_shape=IMG_SHAPE, total_frames=300, keypoint=kp,
                            keypoint_score=score, start_index=0, modality='Pose'))
    print(f'| pipeline | clips/s ({args.clips} clips) |\n|---|---|')
    for name, (config, split) in PIPELINES.items():
        pipeline = Compose(Config.fromfile(config).data[split].pipeline)
        pipeline(copy.deepcopy(samples[0]))  # warm-up
        start = time.perf_counter()
        for sample in samples:
            pipeline(copy.deepcopy(sample))
        print(f'| {name} | {args.clips / (time.perf_counter() - start):.1f} |')


if __name__ == '__main__':
    main()
