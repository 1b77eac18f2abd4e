"""The fault suite covers the issue's list, and docs/reliability.md lists what the suite tests.

Every fault kind of every table in this folder must appear in the doc's tables, word for
word; and every kind the issue "Fault and security suite" asks for must map to kinds the
suite tests. A new table row without a doc line, or a doc that drifts from the tests, fails
here.
"""
from __future__ import annotations

import re

import pytest
import test_bad_files
import test_bad_samples
import test_urls
from faults_helpers import REPO

DOC = REPO / 'docs' / 'reliability.md'

# kinds tested by a dedicated test instead of a table row
DEDICATED = {
    '4K video':
        'test_bad_samples.py::test_a_4k_video_costs_the_frames_it_samples_not_the_whole_clip',
}

# the issue's wording -> the kinds of this suite that answer it
ISSUE = {
    'zero-byte video': ['zero-byte video'],
    'truncated mp4 (cut at 10 %, 50 %, 90 %)': [
        f'truncated mp4 {p} % (index {where})' for p in (10, 50, 90)
        for where in ('last', 'first')],
    'random bytes with a .mp4 name': ['random bytes named .mp4'],
    'a video with audio only': ['audio-only video'],
    'a container that reports a wrong frame count': ['wrong frame count in the header'],
    'a 1-frame video': ['1-frame video'],
    'a 4K video (memory stays bounded)': ['4K video'],
    'a frame folder with a gap': ['frame folder with a gap'],
    'a corrupt JPEG': ['corrupt JPEG'],
    'a grayscale JPEG in an RGB folder': ['grayscale JPEG in an RGB folder'],
    'an annotation line with too few/many fields': ['annotation line with too few fields',
                                                    'annotation line with too many fields'],
    'a non-integer label': ['non-integer label'],
    'a label >= num_classes': ['label >= num_classes'],
    'a negative or zero total_frames': ['negative total_frames', 'zero total_frames'],
    'a path with spaces and non-ASCII characters': [
        'video path with spaces and non-ASCII', 'frame folder path with spaces and non-ASCII'],
    "a config with a typo'd key": ["config with a typo'd key (top level)",
                                   "config with a typo'd key (in a model dict)"],
    'an unknown type': ['unknown type'],
    'a missing _base_': ['missing _base_'],
    'a _base_ cycle': ['_base_ cycle'],
    'a --cfg-options on a nonexistent key': ['--cfg-options on a nonexistent key'],
    'a checkpoint of another architecture': ['checkpoint of another architecture'],
    'a truncated checkpoint': ['truncated checkpoint'],
    'a checkpoint that is a malicious pickle': ['malicious pickle checkpoint'],
    'a URL that 404s': ['URL that 404s'],
    'one that never answers (timeout)': ['URL that never answers'],
    'one that streams more than the size cap': ['URL streaming past the size cap'],
    'a file:// or other non-http(s) scheme': ['file:// URL', 'ftp:// URL'],
}


def _tested_kinds() -> set[str]:
    tables = (test_bad_samples.SAMPLE_FAULTS, test_bad_files.ANNOTATION_FAULTS,
              test_bad_files.CONFIG_FAULTS, test_bad_files.CHECKPOINT_FAULTS,
              test_urls.URL_FAULTS)
    return {fault.kind for table in tables for fault in table} | set(DEDICATED)


def _doc_table_cells() -> set[str]:
    """The first cell of every table row of the doc, split at ', ' where it lists several."""
    cells = set()
    for line in DOC.read_text(encoding='utf-8').splitlines():
        match = re.match(r'^\| ([^|]+?) \|', line)
        if match and not set(match[1]) <= set('-'):
            cells.update(part.strip() for part in match[1].split(', '))
    return cells


def test_the_suite_answers_every_kind_the_issue_lists() -> None:
    assert len(ISSUE) >= 25
    tested = _tested_kinds()
    missing = {asked: [k for k in kinds if k not in tested] for asked, kinds in ISSUE.items()}
    assert not any(missing.values()), {k: v for k, v in missing.items() if v}


@pytest.mark.parametrize('kind', sorted(_tested_kinds()))
def test_every_tested_kind_has_a_row_in_the_doc(kind: str) -> None:
    assert kind in _doc_table_cells(), f'docs/reliability.md has no table row for {kind!r}'


def test_the_doc_says_what_users_must_know() -> None:
    text = ' '.join(DOC.read_text(encoding='utf-8').split())
    assert 'Config files are Python and run as code' in text
    assert '`--cfg-options` values are parsed as literals' in text
    assert 'python -m pytest -q tests/faults' in text
    assert 'python benchmarks/kill_resume.py' in text
    assert re.search(r'\| 20 kills, \d+ epochs \| \d+ \(', text), 'the kill/resume results'
