"""SIGKILL a ``tools/train.py`` run four times, twice mid-checkpoint-write; resume each time.

The harness is ``benchmarks/kill_resume.py`` (which runs 20 kills); see its docstring for how
the kills are timed and how a kill is aimed at a half-written checkpoint.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from faults_helpers import REPO


def _harness():
    name = 'faults_kill_resume'
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / 'benchmarks' / 'kill_resume.py')
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.mark.slow
def test_killed_runs_resume_to_the_weights_of_an_uninterrupted_run(tmp_path: Path) -> None:
    harness = _harness()
    result = harness.run_trials(tmp_path, kills=4, seed=0, epochs=5, write_pause=0.5)
    table = harness.format_table(result)
    assert [t.outcome for t in result.trials] == ['killed'] * 4, table
    # (a) every checkpoint on disk loaded after every kill, and says the epoch its name says
    assert all(t.all_load and not t.problems for t in result.trials), table
    # the kills aimed at a checkpoint write did land mid-write: their unfinished file was there
    aimed = [t for t in result.trials if t.kind == 'during write']
    assert len(aimed) == 2 and all(t.partial_file for t in aimed), table
    # (b) the final weights equal the uninterrupted run's, bit for bit
    assert result.weights_equal, f'tensors differ: {result.mismatched}\n{table}'
    assert result.temp_files_left == [], table
    assert (tmp_path / 'killed' / 'epoch_5.pth').is_file()
