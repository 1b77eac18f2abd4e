"""A 2-rank ``torchrun --max-restarts=3 ... --resume-from auto`` job (gloo, CPU) recovers from a
SIGKILLed rank and from a SIGKILLed loader worker, to the weights of an uninterrupted run.

The harness is ``benchmarks/elastic_trials.py`` (10 trials of each kind); see its docstring.
Here one trial of each, with torchrun's default (static) rendezvous, as in the issue, and rank
1 starting 1 s late on every restart (``skew``): before each restart's store keys were kept
apart (``actionkit.engine.rendezvous.form_group``), that delay made the restarted rank 0 read
rank 1's gloo address of the previous attempt, and restarts failed with ``Gloo
connectFullMesh failed ... Connection refused`` until none was left.
"""
from __future__ import annotations

import importlib.util
import random
import sys

import pytest
from faults_helpers import REPO


def _module():
    name = 'faults_elastic_trials'
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name,
                                                      REPO / 'benchmarks' / 'elastic_trials.py')
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope='module')
def harness_and_reference(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    harness = _module().Harness(tmp_path_factory.mktemp('elastic'), epochs=4, rdzv='static',
                                skew=1.0, bound_s=200.0, kill_within=0.5)
    return harness, harness.reference()


@pytest.mark.slow
@pytest.mark.parametrize('kind', ['rank', 'worker'])
def test_a_killed_rank_or_loader_worker_is_recovered_by_torchrun(
        harness_and_reference: tuple, kind: str) -> None:
    harness, reference = harness_and_reference
    trial = harness.trial(1, kind, random.Random(3), reference)
    log = (harness.root / f'trial_1_{kind}.log').read_text()[-3000:]
    assert trial.target != 'none', f'the job ended before the kill: {trial}'
    assert trial.exit_code == 0, f'{trial}\n{log}'
    assert 'connectFullMesh' not in log
    assert trial.restarts >= 1, trial  # the kill did cost a restart ...
    assert trial.weights_equal, trial  # ... and the job still ended where it would have
