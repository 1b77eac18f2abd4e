"""Official train/val/test splits of the usual datasets, read from their annotation files.

The logic behind ``tools/data/build_file_list.py DATASET SRC_FOLDER``. Each parser reads the
files a dataset ships with, from the folder MMAction2 keeps them in
(``data/{dataset}/annotations/``), and returns the video ids and labels of every subset:

=============  ================================================================================
dataset        files read from the annotation folder
=============  ================================================================================
ucf101         ``classInd.txt`` (``1 ApplyEyeMakeup``), ``trainlist0{k}.txt``
               (``ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1``), ``testlist0{k}.txt``
hmdb51         ``{class}_test_split{k}.txt`` (``<video>.avi <tag>``: 1 train, 2 test, 0 unused);
               an optional ``classInd.txt`` fixes the label order
kinetics400    ``kinetics_train.csv``, ``kinetics_val.csv``, ``kinetics_test.csv`` (optional):
/600/700       ``label,youtube_id,time_start,time_end,split[,is_cc]`` with a header line
sthv1, jester  ``something-something-v1-labels.csv`` / ``jester-v1-labels.csv`` (a class name a
               line) and ``…-train.csv``, ``…-validation.csv``, ``…-test.csv`` (``id;label``)
sthv2          ``something-something-v2-labels.json`` (``{"name": "index"}``) and
               ``…-train.json``, ``…-validation.json``, ``…-test.json``
=============  ================================================================================

Labels are the ones MMAction2's ``tools/data/parse_file_list.py`` gives: UCF101's class index
minus one; HMDB51's classes in alphabetical order; Kinetics' class names with ``"`` removed
and spaces turned into ``_``, sorted; Something-Something the line number of the class (V1)
or the index of the template with its ``[`` ``]`` removed (V2). Test subsets have no labels
and get ``-1``. A video id is the path without extension, ``class/video`` for ``level=2``
(a folder per class) and ``video`` for ``level=1``.

Every malformed line raises :class:`~actionkit.errors.AnnotationError` naming file and line.
"""
from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import AnnotationError

__all__ = ['SPLIT_DATASETS', 'OfficialSplits', 'parse_ucf101_splits', 'parse_hmdb51_splits',
           'parse_kinetics_splits', 'parse_sthv1_splits', 'parse_jester_splits',
           'parse_sthv2_splits', 'parse_official_splits', 'kinetics_class_name']

#: dataset name -> number of official splits (MMAction2's ``DATASET`` names)
SPLIT_DATASETS = {'ucf101': 3, 'hmdb51': 3, 'kinetics400': 1, 'kinetics600': 1,
                  'kinetics700': 1, 'sthv1': 1, 'sthv2': 1, 'jester': 1}

Item = tuple[str, int]  # (video id, label); label -1 when unknown (test subsets)


@dataclass
class OfficialSplits:
    """The parsed splits of one dataset.

    Attributes:
        dataset: the dataset name.
        classes: class names in label order.
        splits: one dict per official split, ``subset -> [(video id, label), ...]``; subsets
            are ``train`` and ``val`` (the official test list of UCF101/HMDB51, the
            validation set of the others) and, where the test file exists, ``test``.
    """

    dataset: str
    classes: list[str]
    splits: list[dict[str, list[Item]]] = field(default_factory=list)


def _require(path: Path, dataset: str) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f'{dataset}: annotation file not found: {path} (the official '
                                f'annotation files go in one folder, see --ann-dir)')
    return path


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Numbered non-blank lines, stripped (BOM and ``\\r\\n`` tolerated)."""
    text = path.read_text(encoding='utf-8-sig')
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, line.strip()


def _video_id(path: str, level: int) -> str:
    """``class/video`` (level 2) or ``video`` (level 1) from a path without extension."""
    parts = [p for p in path.replace('\\', '/').split('/') if p]
    return '/'.join(parts[-2:]) if level == 2 else parts[-1]


def _strip_ext(name: str) -> str:
    return os.path.splitext(name)[0]


def _check_level(level: int) -> None:
    if level not in (1, 2):
        raise ValueError(f'level must be 1 (flat folder) or 2 (a folder per class), got {level!r}')


def _check_num_split(dataset: str, num_split: int | None) -> int:
    available = SPLIT_DATASETS[dataset]
    if num_split is None:
        return available
    if not 1 <= num_split <= available:
        hint = ('has a single official split: use --num-split 1 or leave it out'
                if available == 1 else f'has {available} official splits: use 1 to {available}')
        raise ValueError(f'num_split={num_split!r}: {dataset} {hint}')
    return num_split


# ----------------------------------------------------------------------------- UCF101, HMDB51


def _read_class_index(path: Path) -> list[str]:
    """``classInd.txt``: ``<1-based index> <class name>`` a line, in any order."""
    by_index: dict[int, str] = {}
    for number, line in _lines(path):
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit() or int(parts[0]) < 1:
            raise AnnotationError(f'{path}:{number}: expected "<index from 1> <class name>", '
                                  f'got {line!r}')
        if int(parts[0]) in by_index:
            raise AnnotationError(f'{path}:{number}: class index {parts[0]} appears twice')
        by_index[int(parts[0])] = parts[1]
    if sorted(by_index) != list(range(1, len(by_index) + 1)):
        raise AnnotationError(f'{path}: class indices must run 1..{len(by_index)} without gaps, '
                              f'got {sorted(by_index)[:10]}...')
    return [by_index[i] for i in range(1, len(by_index) + 1)]


def _ucf101_list(path: Path, level: int, mapping: dict[str, int], train: bool) -> list[Item]:
    """``trainlist0k.txt`` (``Class/video.avi <label>``) or ``testlist0k.txt``
    (``Class/video.avi``); the label is the class folder's (the number is not used)."""
    items = []
    for number, line in _lines(path):
        parts = line.split()
        if not 1 <= len(parts) <= 2 or (len(parts) == 2 and not parts[1].isdigit()):
            expected = '"<Class>/<video>.avi <label>"' if train else '"<Class>/<video>.avi"'
            raise AnnotationError(f'{path}:{number}: expected {expected}, got {line!r}')
        folder = os.path.dirname(parts[0].replace('\\', '/'))
        class_name = os.path.basename(folder)
        if class_name not in mapping:
            raise AnnotationError(f'{path}:{number}: class folder {class_name!r} of {parts[0]!r} '
                                  f'is not in classInd.txt')
        items.append((_video_id(_strip_ext(parts[0]), level), mapping[class_name]))
    return items


def parse_ucf101_splits(ann_dir: str | os.PathLike, level: int = 2,
                        num_split: int | None = None) -> OfficialSplits:
    """UCF101's three official splits from ``classInd.txt``, ``trainlist0{k}.txt`` and
    ``testlist0{k}.txt``; labels are the ``classInd.txt`` indices minus one.

    Args:
        ann_dir: the folder of the annotation files (``data/ucf101/annotations``).
        level: 2 gives ids ``Class/v_Class_g08_c01``, 1 gives ``v_Class_g08_c01``.
        num_split: read splits 1..num_split (default: all three).
    """
    _check_level(level)
    ann_dir, count = Path(ann_dir), _check_num_split('ucf101', num_split)
    classes = _read_class_index(_require(ann_dir / 'classInd.txt', 'ucf101'))
    mapping = {name: i for i, name in enumerate(classes)}
    result = OfficialSplits('ucf101', classes)
    for k in range(1, count + 1):
        train = _require(ann_dir / f'trainlist{k:02d}.txt', 'ucf101')
        test = _require(ann_dir / f'testlist{k:02d}.txt', 'ucf101')
        result.splits.append(dict(train=_ucf101_list(train, level, mapping, True),
                                  val=_ucf101_list(test, level, mapping, False)))
    return result


def parse_hmdb51_splits(ann_dir: str | os.PathLike, level: int = 2,
                        num_split: int | None = None) -> OfficialSplits:
    """HMDB51's three official splits from the ``{class}_test_split{k}.txt`` files.

    Each line is ``<video>.avi <tag>``: tag 1 puts the clip in ``train``, 2 in ``val`` (the
    official test set), 0 in neither. The classes are numbered in alphabetical order (as
    MMAction2 numbers the class folders), or in the order of ``classInd.txt`` when the
    annotation folder has one.
    """
    _check_level(level)
    ann_dir, count = Path(ann_dir), _check_num_split('hmdb51', num_split)
    if not ann_dir.is_dir():
        raise FileNotFoundError(f'hmdb51: annotation folder not found: {ann_dir}')
    suffix = '_test_split1.txt'
    found = sorted(p.name[:-len(suffix)] for p in ann_dir.glob(f'*{suffix}'))
    if not found:
        raise FileNotFoundError(f'hmdb51: no <class>{suffix} files in {ann_dir} (unpack '
                                f'test_train_splits.rar there)')
    index_file = ann_dir / 'classInd.txt'
    classes = _read_class_index(index_file) if index_file.is_file() else found
    result = OfficialSplits('hmdb51', classes)
    for k in range(1, count + 1):
        split: dict[str, list[Item]] = dict(train=[], val=[])
        for label, class_name in enumerate(classes):
            path = _require(ann_dir / f'{class_name}_test_split{k}.txt', 'hmdb51')
            for number, line in _lines(path):
                parts = line.split()
                if len(parts) != 2 or parts[1] not in ('0', '1', '2'):
                    raise AnnotationError(f'{path}:{number}: expected "<video>.avi <0|1|2>", '
                                          f'got {line!r}')
                if parts[1] != '0':
                    video = _video_id(f'{class_name}/{_strip_ext(parts[0])}', level)
                    split['train' if parts[1] == '1' else 'val'].append((video, label))
        result.splits.append(split)
    return result


# ----------------------------------------------------------------------------- Kinetics


def kinetics_class_name(name: str, keep_whitespaces: bool = False) -> str:
    """A Kinetics class name as a folder name: ``"`` removed, spaces turned into ``_``."""
    name = name.replace('"', '')
    return name if keep_whitespaces else name.replace(' ', '_')


def _kinetics_rows(path: Path, need_label: bool) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a Kinetics CSV as dicts keyed by its header, with their line numbers."""
    with open(path, newline='', encoding='utf-8-sig') as handle:
        reader = csv.reader(handle)
        header = [h.strip() for h in next(reader, [])]
        required = ['youtube_id', 'time_start', 'time_end'] + (['label'] if need_label else [])
        missing = [name for name in required if name not in header]
        if missing:
            raise AnnotationError(f'{path}:1: expected a header with the columns {required} '
                                  f'(label,youtube_id,time_start,time_end,split), got {header}')
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) < len(header):
                raise AnnotationError(f'{path}:{reader.line_num}: expected {len(header)} '
                                      f'columns ({",".join(header)}), got {row}')
            yield reader.line_num, dict(zip(header, row))


def _kinetics_video(path: Path, number: int, row: dict[str, str]) -> str:
    try:
        start, end = int(float(row['time_start'])), int(float(row['time_end']))
    except ValueError:
        raise AnnotationError(f'{path}:{number}: time_start/time_end must be numbers, got '
                              f'{row["time_start"]!r}, {row["time_end"]!r}') from None
    return f'{row["youtube_id"]}_{start:06d}_{end:06d}'


def parse_kinetics_splits(ann_dir: str | os.PathLike, level: int = 2,
                          dataset: str = 'kinetics400') -> OfficialSplits:
    """Kinetics-400/600/700 from ``kinetics_{train,val,test}.csv``.

    A clip's id is ``{youtube_id}_{time_start:06d}_{time_end:06d}``, under its class folder
    (``abseiling/…``) for ``level=2``; test clips have no class folder and label -1. The
    labels number the class names of the train file, normalised by
    :func:`kinetics_class_name`, in sorted order. ``classes`` keeps the spaces
    (``air drumming``), like the label maps that come with the checkpoints.
    """
    _check_level(level)
    if dataset not in ('kinetics400', 'kinetics600', 'kinetics700'):
        raise ValueError(f"dataset must be 'kinetics400', 'kinetics600' or 'kinetics700', "
                         f'got {dataset!r}')
    ann_dir = Path(ann_dir)
    train_file = _require(ann_dir / 'kinetics_train.csv', dataset)
    val_file = _require(ann_dir / 'kinetics_val.csv', dataset)
    spelled = {kinetics_class_name(row['label']): kinetics_class_name(row['label'], True)
               for _, row in _kinetics_rows(train_file, True)}
    folders = sorted(spelled)
    mapping = {name: i for i, name in enumerate(folders)}
    split: dict[str, list[Item]] = {}
    for subset, path in (('train', train_file), ('val', val_file)):
        items = split.setdefault(subset, [])
        for number, row in _kinetics_rows(path, True):
            folder = kinetics_class_name(row['label'])
            if folder not in mapping:
                raise AnnotationError(f'{path}:{number}: class {row["label"]!r} does not occur '
                                      f'in {train_file.name}')
            video = _kinetics_video(path, number, row)
            items.append((f'{folder}/{video}' if level == 2 else video, mapping[folder]))
    test_file = ann_dir / 'kinetics_test.csv'
    if test_file.is_file():
        split['test'] = [(_kinetics_video(test_file, number, row), -1)
                         for number, row in _kinetics_rows(test_file, False)]
    return OfficialSplits(dataset, [spelled[f] for f in folders], [split])


# ----------------------------------------------------------------------------- Something-Something


def _semicolon_split(dataset: str, ann_dir: Path, prefix: str, level: int) -> OfficialSplits:
    """Something-Something V1 and Jester: a labels file and ``id;label`` CSVs."""
    _check_level(level)
    labels_file = _require(ann_dir / f'{prefix}-labels.csv', dataset)
    classes = [line for _, line in _lines(labels_file)]
    mapping = {name: i for i, name in enumerate(classes)}
    split: dict[str, list[Item]] = {}
    for subset, name in (('train', 'train'), ('val', 'validation'), ('test', 'test')):
        path = ann_dir / f'{prefix}-{name}.csv'
        if subset == 'test' and not path.is_file():
            continue
        items = split.setdefault(subset, [])
        for number, line in _lines(_require(path, dataset)):
            parts = line.split(';')
            if subset == 'test':
                items.append((_video_id(parts[0], level), -1))
                continue
            if len(parts) != 2 or parts[1] not in mapping:
                problem = ('expected "<id>;<class name>"' if len(parts) != 2 else
                           f'class {parts[1]!r} is not in {labels_file.name}')
                raise AnnotationError(f'{path}:{number}: {problem}, got {line!r}')
            items.append((_video_id(parts[0], level), mapping[parts[1]]))
    return OfficialSplits(dataset, classes, [split])


def parse_sthv1_splits(ann_dir: str | os.PathLike, level: int = 2) -> OfficialSplits:
    """Something-Something V1 from ``something-something-v1-{labels,train,validation,test}.csv``
    (``id;class name`` lines; the label is the class's line in the labels file, from 0)."""
    return _semicolon_split('sthv1', Path(ann_dir), 'something-something-v1', level)


def parse_jester_splits(ann_dir: str | os.PathLike, level: int = 2) -> OfficialSplits:
    """Jester from ``jester-v1-{labels,train,validation,test}.csv`` (as Something-Something V1)."""
    return _semicolon_split('jester', Path(ann_dir), 'jester-v1', level)


def _load_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding='utf-8-sig'))
    except json.JSONDecodeError as err:
        raise AnnotationError(f'{path}:{err.lineno}: not valid JSON: {err.msg}') from None


def parse_sthv2_splits(ann_dir: str | os.PathLike, level: int = 2) -> OfficialSplits:
    """Something-Something V2 from ``something-something-v2-labels.json`` and the
    ``…-{train,validation,test}.json`` lists.

    A clip's label is the index the labels file gives its ``template`` once the brackets
    around the placeholders are removed (``Putting [something] on [something]`` ->
    ``Putting something on something``).
    """
    _check_level(level)
    ann_dir, prefix = Path(ann_dir), 'something-something-v2'
    labels_file = _require(ann_dir / f'{prefix}-labels.json', 'sthv2')
    raw = _load_json(labels_file)
    if not isinstance(raw, dict) or not all(str(v).isdigit() for v in raw.values()):
        raise AnnotationError(f'{labels_file}: expected an object {{"class name": "index"}}')
    mapping = {name: int(index) for name, index in raw.items()}
    classes = sorted(mapping, key=mapping.__getitem__)
    split: dict[str, list[Item]] = {}
    for subset, name in (('train', 'train'), ('val', 'validation'), ('test', 'test')):
        path = ann_dir / f'{prefix}-{name}.json'
        if subset == 'test' and not path.is_file():
            continue
        entries = _load_json(_require(path, 'sthv2'))
        if not isinstance(entries, list):
            raise AnnotationError(f'{path}: expected a list of clips, got {type(entries).__name__}')
        items = split.setdefault(subset, [])
        for number, entry in enumerate(entries):
            keys = ('id', ) if subset == 'test' else ('id', 'template')
            if not isinstance(entry, dict) or any(k not in entry for k in keys):
                raise AnnotationError(f'{path}: clip #{number}: expected an object with the '
                                      f'keys {list(keys)}, got {entry!r}')
            video = _video_id(str(entry['id']), level)
            if subset == 'test':
                items.append((video, -1))
                continue
            template = entry['template'].replace('[', '').replace(']', '')
            if template not in mapping:
                raise AnnotationError(f'{path}: clip #{number} (id {entry["id"]}): template '
                                      f'{template!r} is not in {labels_file.name}')
            items.append((video, mapping[template]))
    return OfficialSplits('sthv2', classes, [split])


def parse_official_splits(dataset: str, ann_dir: str | os.PathLike, level: int = 2,
                          num_split: int | None = None) -> OfficialSplits:
    """The official splits of ``dataset`` (one of :data:`SPLIT_DATASETS`).

    Args:
        dataset: ``ucf101``, ``hmdb51``, ``kinetics400``/``600``/``700``, ``sthv1``,
            ``sthv2`` or ``jester``.
        ann_dir: the folder of its annotation files.
        level: 2 for a folder per class, 1 for a flat folder.
        num_split: how many official splits to read (default: all; 1 for single-split sets).
    """
    if dataset not in SPLIT_DATASETS:
        raise ValueError(f'unknown dataset {dataset!r}; official splits are read for '
                         f'{sorted(SPLIT_DATASETS)}')
    _check_num_split(dataset, num_split)
    if dataset == 'ucf101':
        return parse_ucf101_splits(ann_dir, level, num_split)
    if dataset == 'hmdb51':
        return parse_hmdb51_splits(ann_dir, level, num_split)
    if dataset.startswith('kinetics'):
        return parse_kinetics_splits(ann_dir, level, dataset)
    parser = {'sthv1': parse_sthv1_splits, 'sthv2': parse_sthv2_splits,
              'jester': parse_jester_splits}[dataset]
    return parser(ann_dir, level)
