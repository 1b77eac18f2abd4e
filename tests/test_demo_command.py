"""``actionkit demo`` end to end, tiny: generate, train, test, infer on the held-out video."""
from __future__ import annotations

from pathlib import Path

import pytest

from actionkit.cli import main


@pytest.mark.slow
def test_demo_runs_with_its_default_relative_folders(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture) -> None:
    """The README's command uses relative folders (data/synthetic, work_dirs/demo); the
    held-out video must still be found although the test config has a data_prefix."""
    monkeypatch.chdir(tmp_path)
    status = main(['demo', '--num-train', '40', '--num-val', '20', '--epochs', '1',
                   '--workers', '0'])
    captured = capsys.readouterr()
    out = captured.out
    assert status == 0, out + captured.err
    assert '[4/4] inference on a held-out video' in out
    assert 'held_out.mp4 (true class: square moving right)' in out  # seed 0 renders class 0
    assert len([line for line in out.splitlines() if line.startswith('  ')]) >= 5  # top-5
    assert 'demo finished in' in out
    assert (tmp_path / 'work_dirs' / 'demo' / 'latest.pth').is_file()
