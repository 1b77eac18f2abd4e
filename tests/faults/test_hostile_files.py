"""Input files built to hang or exhaust a reader: FIFOs, device files, YAML alias bombs,
nesting bombs, undecodable config bytes (issue 15, "Faults, round two")."""
from __future__ import annotations

import os
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import pytest
from faults_helpers import rawframe_pipeline
from faults_media import write_frame_folder

from actionkit.config import Config
from actionkit.datasets import build_dataset
from actionkit.errors import AnnotationError, DecodeError


@contextmanager
def _fifo(path: Path, release_after: float = 8.0) -> Iterator[Path]:
    """A FIFO at ``path``; if a reader blocks on it, a writer comes after ``release_after`` s
    and closes at once (the reader then sees an empty file), so a bug cannot hang the suite."""
    os.mkfifo(path)
    done = threading.Event()

    def release() -> None:
        if not done.wait(release_after):
            fd = os.open(path, os.O_WRONLY)
            os.close(fd)

    thread = threading.Thread(target=release, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        done.set()
        thread.join(timeout=30)


def _frame_dataset(tmp_path: Path) -> tuple[object, Path]:
    folder = write_frame_folder(tmp_path / 'clip', num_frames=8)
    ann_file = tmp_path / 'list.txt'
    ann_file.write_text('clip 8 1\n')
    dataset = build_dataset(dict(type='RawframeDataset', ann_file=str(ann_file),
                                 data_prefix=str(tmp_path), test_mode=True,
                                 pipeline=rawframe_pipeline(True, num_clips=8)))
    return dataset, folder


def test_a_fifo_as_a_frame_is_refused_at_once(tmp_path: Path) -> None:
    dataset, folder = _frame_dataset(tmp_path)
    frame = folder / 'img_00004.jpg'
    frame.unlink()
    with _fifo(frame):
        start = time.monotonic()
        with pytest.raises(DecodeError) as info:
            dataset[0]
        elapsed = time.monotonic() - start
    assert str(info.value) == (f'frame file {frame} is a FIFO (named pipe), not a regular file: '
                               'refusing to read it (it could block forever or never end)')
    assert info.value.path == str(frame)
    assert elapsed < 5


def test_a_link_to_dev_zero_as_a_frame_is_refused(tmp_path: Path) -> None:
    dataset, folder = _frame_dataset(tmp_path)
    frame = folder / 'img_00002.jpg'
    frame.unlink()
    frame.symlink_to('/dev/zero')
    with pytest.raises(DecodeError, match=rf'^frame file {frame} is a character device, not a '
                                          r'regular file'):
        dataset[0]


def test_a_frame_file_over_the_cap_is_refused_before_reading(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from actionkit.datasets.pipelines.decoders import images
    dataset, folder = _frame_dataset(tmp_path)
    monkeypatch.setattr(images, 'MAX_FRAME_BYTES', 100)  # the real frames are ~1 kB
    size = (folder / 'img_00001.jpg').stat().st_size
    with pytest.raises(DecodeError, match=rf'frame file {folder / "img_00001.jpg"} is {size} '
                                          r'bytes, more than the 100-byte cap'):
        dataset[0]


def test_dev_zero_as_an_annotation_file_is_refused(tmp_path: Path) -> None:
    for ann_file, kind in (('/dev/zero', 'a character device'),
                           (str(tmp_path), 'a folder')):
        with pytest.raises(AnnotationError, match=rf'annotation file {ann_file} is {kind}, '):
            build_dataset(dict(type='VideoDataset', ann_file=ann_file, pipeline=[]))


def test_a_fifo_as_a_config_is_refused_at_once(tmp_path: Path) -> None:
    with _fifo(tmp_path / 'cfg.py') as path:
        with pytest.raises(ValueError, match=rf'^config file {path} is a FIFO'):
            Config.fromfile(path)


def test_non_utf8_bytes_in_a_config_name_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / 'cfg.py'
    path.write_bytes(b"a = 1\nb = 'caf\xe9'\n")  # Latin-1, not UTF-8
    with pytest.raises(ValueError) as info:
        Config.fromfile(path)
    assert str(info.value) == (f'{path}:2: config file is not valid UTF-8 text (invalid '
                               'continuation byte at byte 14)')


# a 450-byte YAML that expands to 10**9 strings if aliases are followed
_YAML_BOMB = 'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n' + ''.join(
    f'{chr(98 + i)}: &{chr(98 + i)} [' + ','.join([f'*{chr(97 + i)}'] * 10) + ']\n'
    for i in range(8))


@pytest.mark.parametrize('text, line', [(_YAML_BOMB, 2), ('a: &a [1, *a]\n', 1)],
                         ids=['nested-aliases', 'self-reference'])
def test_yaml_aliases_in_a_config_are_refused(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / 'cfg.yaml'
    path.write_text(text)
    start = time.monotonic()
    with pytest.raises(ValueError, match=rf'^config file {path}:{line}: YAML aliases \(\*a\) '
                                         'are not accepted'):
        Config.fromfile(path)
    assert time.monotonic() - start < 5


@pytest.mark.parametrize('suffix', ['.json', '.yaml'])
@pytest.mark.parametrize('depth', [150, 100_000])
def test_a_deeply_nested_config_is_refused(tmp_path: Path, suffix: str, depth: int) -> None:
    path = tmp_path / f'cfg{suffix}'
    path.write_text('{"a": ' + '[' * depth + ']' * depth + '}')
    with pytest.raises(ValueError, match=rf'^config file {path}(:1)?: nested more than 100 '
                                         'levels deep'):
        Config.fromfile(path)


def test_a_deeply_nested_json_annotation_list_is_refused(tmp_path: Path) -> None:
    path = tmp_path / 'list.json'
    path.write_text('[{"filename": "a.mp4", "label": 1, "x": ' + '[' * 100_000 + ']' * 100_000
                    + '}]')
    with pytest.raises(AnnotationError, match=rf': {path}: nested more than 100 levels deep'):
        build_dataset(dict(type='VideoDataset', ann_file=str(path), pipeline=[]))


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width x height`` RGB pixels, with one row of data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (len(body).to_bytes(4, 'big') + kind + body
                + zlib.crc32(kind + body).to_bytes(4, 'big'))

    ihdr = width.to_bytes(4, 'big') + height.to_bytes(4, 'big') + bytes([8, 2, 0, 0, 0])
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr)
            + chunk(b'IDAT', zlib.compress(bytes(1 + 3 * width))) + chunk(b'IEND', b''))


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A real 64x48 JPEG whose start-of-frame header is patched to ``width x height``."""
    ok, buf = cv2.imencode('.jpg', np.zeros((48, 64, 3), np.uint8))
    data = bytearray(buf.tobytes())
    sof = data.index(b'\xff\xc0')
    data[sof + 5:sof + 9] = height.to_bytes(2, 'big') + width.to_bytes(2, 'big')
    return bytes(data)


@pytest.mark.parametrize('make, width, height', [(_png_claiming, 30000, 30000),
                                                 (_jpeg_claiming, 60000, 60000),
                                                 (_png_claiming, 20000, 10)],
                         ids=['png-named-jpg', 'jpeg', 'png-too-wide'])
def test_an_image_bomb_is_refused_from_its_header(tmp_path: Path, make: Callable[[int, int], bytes],
                                                  width: int, height: int) -> None:
    dataset, folder = _frame_dataset(tmp_path)
    frame = folder / 'img_00003.jpg'
    frame.write_bytes(make(width, height))
    with pytest.raises(DecodeError) as info:
        dataset[0]
    assert str(info.value) == (f'image {frame} claims {width}x{height} pixels in its header, '
                               'more than the cap of 16384 a side and 67108864 pixels: refusing '
                               'to decode it')
