"""Tiny official annotation files of UCF101, HMDB51 and Kinetics, in the datasets' own
formats, shared by test_splits.py and test_file_lists.py (imported through sys.path)."""
from __future__ import annotations

from pathlib import Path

__all__ = ['write_files', 'ucf101_annotations', 'hmdb51_annotations', 'kinetics_annotations',
           'K_HEADER']


def write_files(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


UCF_CLASSES = '1 ApplyEyeMakeup\r\n2 ApplyLipstick\r\n3 HandstandPushups\r\n'


def ucf101_annotations(folder: Path) -> Path:
    """classInd.txt and three splits: train lines carry the 1-based label, test lines none.
    HandstandPushups' videos are spelled HandStandPushups, as in the real files."""
    files = {'classInd.txt': UCF_CLASSES}
    for k in (1, 2, 3):
        files[f'trainlist{k:02d}.txt'] = (
            f'ApplyEyeMakeup/v_ApplyEyeMakeup_g0{k}_c01.avi 1\r\n'
            f'HandstandPushups/v_HandStandPushups_g0{k}_c02.avi 3\r\n')
        files[f'testlist{k:02d}.txt'] = (f'ApplyLipstick/v_ApplyLipstick_g0{k}_c01.avi\r\n'
                                         f'ApplyEyeMakeup/v_ApplyEyeMakeup_g1{k}_c04.avi\r\n')
    return write_files(folder, files)


def hmdb51_annotations(folder: Path) -> Path:
    """Per-class split files with tags 1 (train), 2 (test) and 0 (unused)."""
    files = {}
    for k in (1, 2, 3):
        files[f'wave_test_split{k}.txt'] = f'w{k}_a.avi 1 \nw{k}_b.avi 2 \nw{k}_c.avi 0 \n'
        files[f'brush_hair_test_split{k}.txt'] = f'b{k}_a.avi 2 \nb{k}_b.avi 1 \n'
    return write_files(folder, files)


K_HEADER = 'label,youtube_id,time_start,time_end,split,is_cc\n'


def kinetics_annotations(folder: Path, test: bool = True) -> Path:
    files = {
        'kinetics_train.csv': K_HEADER + 'zumba,aaa,3,13,train,0\n'
        '"air drumming",bbb,0.0,10.0,train,0\n'
        '"passing American football (in game)",ccc,100,110,train,1\n',
        'kinetics_val.csv': K_HEADER + '"air drumming",ddd,1,11,val,0\n'
        'zumba,eee,123456,123466,val,0\n'}
    if test:  # the test file of Kinetics-400 has no label column
        files['kinetics_test.csv'] = 'youtube_id,time_start,time_end,split\nfff,5,15,test\n'
    return write_files(folder, files)
