"""The work directory of an MMAction2 1.x config, laid out as MMAction2 1.x (mmengine) does.

A 1.x user reads a training run's outputs at mmengine's places; :class:`V1WorkDirHook` writes
them next to actionkit's own logs (which stay, so 0.x tools keep working):

- ``{timestamp}/vis_data/scalars.json`` and ``{timestamp}/vis_data/{timestamp}.json``: one JSON
  object per line, mmengine's records. Training, every ``interval`` iterations:
  ``{"lr": …, "data_time": …, "loss": …, "loss_cls": …, "top1_acc": …, "time": …,
  "epoch": 1, "iter": 20, "step": 20}`` (``iter`` and ``step``: the global iteration, from 1;
  ``memory`` on a GPU). After each evaluation: the metrics under their 1.x names
  (``{"acc/top1": …, "acc/top5": …, "acc/mean1": …, "step": <epoch>}``).
- ``{timestamp}/vis_data/config.py``: the config as written (copied from the work dir).
- ``last_checkpoint``: one line, the path of the newest checkpoint saved, which mmengine's
  ``--resume`` reads.

The text log itself goes to ``{timestamp}/{timestamp}.log`` (``tools/train.py`` puts it there
for 1.x files) and the best checkpoint is ``best_acc_top1_epoch_N.pth`` (``EvalHook``'s
``metric_aliases``). ``config/v1.py`` adds this hook for 1.x files.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..utils.atomic import write_atomic
from .hooks import HOOKS, check_metric_aliases
from .logging import LoggerHook

if TYPE_CHECKING:
    from .trainer import Trainer

__all__ = ['V1WorkDirHook', 'LAST_CHECKPOINT_NAME']

LAST_CHECKPOINT_NAME = 'last_checkpoint'
_TRAIN_LAST = ('time', 'epoch', 'iter', 'memory')  # mmengine puts these after the losses


@HOOKS.register_module()
class V1WorkDirHook(LoggerHook):
    """Write mmengine's ``vis_data`` scalars and ``last_checkpoint`` (see the module).

    Args:
        interval (int): log every ``interval`` iterations (``log_config.interval``).
            Default: 10.
        ignore_last (bool): see :class:`LoggerHook`. Default: True.
        metric_aliases (dict | None): evaluation metric -> its 1.x name
            (``{'top1_acc': 'acc/top1'}``). Default: None (names unchanged).
    """

    def __init__(self, interval: int = 10, ignore_last: bool = True,
                 metric_aliases: Mapping[str, str] | None = None) -> None:
        super().__init__(interval, ignore_last, reset_flag=False, by_epoch=True)
        self.metric_aliases = check_metric_aliases(metric_aliases, 'V1WorkDirHook.metric_aliases')
        self.vis_dir: str | None = None
        self._saved: str | None = None

    def before_train(self, trainer: Trainer) -> None:
        super().before_train(trainer)
        self._saved = trainer.last_checkpoint
        if trainer.rank != 0:
            return
        self.vis_dir = os.path.join(trainer.work_dir, trainer.timestamp, 'vis_data')
        os.makedirs(self.vis_dir, exist_ok=True)
        config = os.path.join(trainer.work_dir, str(trainer.meta.get('config_name', '')))
        if trainer.meta.get('config_name') and os.path.isfile(config):
            shutil.copyfile(config, os.path.join(self.vis_dir, 'config.py'))

    def log(self, trainer: Trainer) -> None:
        record = self.log_dict(trainer)
        if trainer.rank == 0 and self.vis_dir is not None:
            line = json.dumps(self.v1_record(record, trainer.iter + 1), default=str) + '\n'
            for name in ('scalars.json', f'{trainer.timestamp}.json'):
                with open(os.path.join(self.vis_dir, name), 'a', encoding='utf-8') as fout:
                    fout.write(line)

    def v1_record(self, record: Mapping[str, Any], global_iter: int) -> dict[str, Any]:
        """One of our log records (:meth:`LoggerHook.log_dict`) as mmengine writes it."""
        values = {k: round(v, 5) if isinstance(v, float) else v
                  for k, v in record.items() if k != 'mode'}
        if record['mode'] != 'train':  # metrics, at the epoch
            out = OrderedDict((self.metric_aliases.get(k, k), v) for k, v in values.items()
                              if k not in ('epoch', 'iter', 'lr'))
            out['step'] = record['epoch']
            return out
        out = OrderedDict(lr=values.pop('lr'))
        if 'data_time' in values:
            out['data_time'] = values.pop('data_time')
        last = {k: values.pop(k) for k in _TRAIN_LAST if k in values}
        out.update(values)
        out.update(time=last.get('time'), epoch=last['epoch'], iter=global_iter)
        if 'memory' in last:
            out['memory'] = last['memory']
        out['step'] = global_iter
        return out

    def after_epoch(self, trainer: Trainer) -> None:
        super().after_epoch(trainer)
        self._note_checkpoint(trainer)

    def after_step(self, trainer: Trainer) -> None:
        super().after_step(trainer)
        self._note_checkpoint(trainer)

    def _note_checkpoint(self, trainer: Trainer) -> None:
        """Point ``last_checkpoint`` at a checkpoint saved since the last call."""
        path = trainer.last_checkpoint
        if path == self._saved or path is None:
            return
        self._saved = path
        if trainer.rank == 0 and os.path.basename(path).startswith(('epoch_', 'iter_')):
            text = os.path.abspath(path)
            write_atomic(os.path.join(trainer.work_dir, LAST_CHECKPOINT_NAME),
                         lambda temp: Path(temp).write_text(text, encoding='utf-8'))
