"""One rank of a 2-process CPU training in which rank 1 fails (run by test_dist.py).

Usage (environment as torchrun sets it: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT):
    python dist_failure_worker.py raise|kill WORK_DIR
"""
from __future__ import annotations

import os
import signal
import sys

import torch

from actionkit.datasets.builder import build_dataloader
from actionkit.engine import HookBase, Trainer, Watchdog, get_logger, init_dist
from engine_toys import ToyDataset, ToyRecognizer


class PlainSGD:
    """Just enough of an optimizer for the trainer. torch.optim's first use imports
    torch._dynamo, which takes seconds; this test is about failing ranks, not optimizers."""

    def __init__(self, params: list[torch.nn.Parameter], lr: float) -> None:
        self.param_groups = [{'params': params, 'lr': lr}]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.param_groups[0]['params']:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for p in self.param_groups[0]['params']:
            if p.grad is not None:
                p.sub_(self.param_groups[0]['lr'] * p.grad)


class FailOnRank1(HookBase):
    def __init__(self, mode: str) -> None:
        self.mode = mode

    def before_step(self, trainer: Trainer) -> None:
        if trainer.rank == 1 and trainer.iter == 2:
            if self.mode == 'kill':
                os.kill(os.getpid(), signal.SIGKILL)
            raise ValueError('boom on purpose')


def main() -> None:
    mode, work_dir = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    init_dist('pytorch', backend='gloo', timeout=120)
    get_logger()
    torch.manual_seed(0)
    # no DDP wrapper (it takes seconds to import): the loss averaging over the ranks in
    # parse_losses is the collective that keeps the ranks in step
    model = ToyRecognizer()
    loader = build_dataloader(ToyDataset(400), videos_per_gpu=2, workers_per_gpu=0, dist=True,
                              seed=0)
    trainer = Trainer(model, PlainSGD(list(model.parameters()), lr=0.01), [loader],
                      max_epochs=50, work_dir=work_dir, hooks=[FailOnRank1(mode)],
                      watchdog=Watchdog(interval_s=0.5, stale_s=4.0, grace_s=3.0))
    trainer.run()


if __name__ == '__main__':
    main()
