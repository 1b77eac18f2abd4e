"""init_recognizer / inference_recognizer: the getting-started guide's snippets, input kinds,
paths used as given, errors, and the opt-in speed settings.

The guide's snippets run as written there (``mmaction`` -> ``actionkit``, the paths, device
``'cpu'``). The real-size TSN-R50 test uses the shipped rawframe inference config; the others use
configs derived from the shipped ones (ResNet-18, 3 clips, small crops) so that each forward
takes a fraction of a second. Checkpoints are made by the tests, with random BatchNorm statistics
so that folding them into the convs is not an identity.
"""
from __future__ import annotations

import functools
import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import actionkit.apis.inference as inference
from actionkit.apis import inference_recognizer, init_recognizer
from actionkit.config import Config
from actionkit.datasets.pipelines import Compose
from actionkit.datasets.pipelines.decoders import get_reader_class
from actionkit.datasets.pipelines.decoding import OpenCVInit
from actionkit.models.builder import build_model
from actionkit.utils import download

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / 'shared' / 'data' / 'mmaction2'
DEMO = DATA / 'demo' / 'demo.mp4'
IMGS = DATA / 'tests' / 'data' / 'imgs'
TSN_DIR = REPO / 'configs' / 'recognition' / 'tsn'
VIDEO_CONFIG = TSN_DIR / 'tsn_r50_video_inference_1x1x3_100e_kinetics400_rgb.py'
FRAMES_CONFIG = TSN_DIR / 'tsn_r50_inference_1x1x3_100e_kinetics400_rgb.py'
TSM_CONFIG = REPO / 'configs' / 'recognition' / 'tsm' / 'tsm_r50_video_1x1x8_50e_kinetics400_rgb.py'
LABEL_MAP = REPO / 'tools' / 'data' / 'kinetics' / 'label_map_k400.txt'

needs_data = pytest.mark.skipif(
    not (DEMO.is_file() and IMGS.is_dir()),
    reason=f'the shared test data (demo.mp4, tests/data/imgs) is not at {DATA}; these tests '
           'need real media')

_NORM = "dict(type='Normalize', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], " \
        "to_bgr=False)"
_TAIL = f"""{_NORM},
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='Collect', keys=['imgs'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs']),
]"""


def _small_config(path: Path, base: Path, decoder: str | None, crop: str,
                  num_clips: int = 3) -> Path:
    """A config inheriting ``base``, at ResNet-18 size with ``num_clips`` clips and small crops;
    ``decoder`` (``'OpenCV'``, ``'PyAV'``) for a video pipeline, ``None`` for rawframes."""
    steps = [f"dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips={num_clips}, "
             "test_mode=True)"]
    if decoder:
        steps = [f"dict(type='{decoder}Init')"] + steps + [f"dict(type='{decoder}Decode')"]
    else:
        steps.append("dict(type='RawFrameDecode')")
    steps += ["dict(type='Resize', scale=(-1, 64))", crop]
    path.write_text(f"_base_ = [{str(base)!r}]\n"
                    f"model = dict(backbone=dict(depth=18), cls_head=dict(in_channels=512))\n"
                    "data = dict(test=dict(data_prefix=None, pipeline=[\n    "
                    + ',\n    '.join(steps) + f',\n    {_TAIL}))\n')
    return path


def _save_checkpoint(config: Path | Config, path: Path, seed: int = 0) -> Path:
    """Random weights for ``config``'s model, BatchNorm statistics included, in mmcv's layout."""
    cfg = config if isinstance(config, Config) else Config.fromfile(str(config))
    cfg.model.backbone.pretrained = None
    torch.manual_seed(seed)
    model = build_model(cfg.model)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                size = module.num_features
                module.running_mean.copy_(torch.randn(size, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(size, generator=generator) + 0.5)
                module.weight.copy_(torch.rand(size, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(size, generator=generator) * 0.1)
    torch.save({'meta': {'seed': seed}, 'state_dict': model.state_dict()}, path)
    return path


@pytest.fixture(scope='module')
def small(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small derived configs and their checkpoints."""
    root = tmp_path_factory.mktemp('inference')
    ten_crop = "dict(type='TenCrop', crop_size=56)"
    paths = dict(
        video=_small_config(root / 'video.py', VIDEO_CONFIG, 'OpenCV', ten_crop),
        video_pyav=_small_config(root / 'video_pyav.py', VIDEO_CONFIG, 'PyAV', ten_crop),
        frames=_small_config(root / 'frames.py', FRAMES_CONFIG, None,
                             "dict(type='ThreeCrop', crop_size=64)"),
        tsm=_small_config(root / 'tsm.py', TSM_CONFIG, 'PyAV',
                          "dict(type='CenterCrop', crop_size=56)", num_clips=8),
    )
    paths['checkpoint'] = _save_checkpoint(paths['video'], root / 'tsn_r18.pth')
    paths['tsm_checkpoint'] = _save_checkpoint(paths['tsm'], root / 'tsm_r18.pth')
    return paths


@pytest.fixture(scope='module')
def model(small: dict[str, Path]) -> nn.Module:
    return init_recognizer(str(small['video']), str(small['checkpoint']), device='cpu')


@pytest.fixture(autouse=True)
def _restore_cfg(request: pytest.FixtureRequest) -> Iterator[None]:
    """Undo a test's changes to the shared model's config (data_prefix)."""
    if 'model' not in request.fixturenames:
        yield
        return
    shared = request.getfixturevalue('model')
    saved = shared.cfg.data.test.get('data_prefix')
    yield
    shared.cfg.data.test.data_prefix = saved


def _manual_top5(model: nn.Module, results: dict) -> list[tuple[int, float]]:
    """The top 5 of a forward through the config's own test pipeline, done by hand."""
    data = Compose(model.cfg.data.test.pipeline)(results)
    scores = model(data['imgs'][None], return_loss=False)[0]
    order = np.argsort(-scores, kind='stable')[:5]
    return [(int(k), float(scores[k])) for k in order]


# ------------------------------------------------------------------ the guide's snippets
@needs_data
def test_guide_snippet_video(small: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    config_file = str(small['video'])
    checkpoint_file = str(small['checkpoint'])

    # 指定设备
    device = 'cpu'  # or 'cpu'
    device = torch.device(device)

    # 根据配置文件和检查点来建立模型
    model = init_recognizer(config_file, checkpoint_file, device=device)

    # 测试单个视频并显示其结果
    video = str(DEMO)
    labels = str(LABEL_MAP)
    results = inference_recognizer(model, video, labels)

    # 显示结果
    labels = open(str(LABEL_MAP)).readlines()
    labels = [x.strip() for x in labels]
    results = [(labels[k[0]], k[1]) for k in results]

    print('The top-5 labels with corresponding scores are:')
    for result in results:
        print(f'{result[0]}: ', result[1])

    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == 'The top-5 labels with corresponding scores are:'
    assert len(printed) == 6 and all(line.split(':')[0] in labels for line in printed[1:])
    scores = [score for _, score in results]
    assert scores == sorted(scores, reverse=True)
    # the real model's scores: the same as a forward done by hand through the same pipeline
    manual = _manual_top5(model, dict(filename=str(DEMO), label=-1, start_index=0,
                                      modality='RGB'))
    assert [(labels[k], s) for k, s in manual] == results


@needs_data
@pytest.mark.slow
def test_guide_snippet_rawframes_with_the_real_config(tmp_path: Path) -> None:
    """The shipped rawframe inference config (25 clips x ThreeCrop 256) and a ResNet-50
    checkpoint with every weight: about 15 s on one core."""
    config_file = str(FRAMES_CONFIG)
    checkpoint_file = str(_save_checkpoint(FRAMES_CONFIG, tmp_path / 'tsn_r50.pth'))

    # 指定设备
    device = 'cpu'  # or 'cpu'
    device = torch.device(device)

    # 根据配置文件和检查点来建立模型
    model = init_recognizer(config_file, checkpoint_file, device=device, use_frames=True)

    # 测试单个视频的帧文件夹并显示其结果
    video = str(IMGS) + '/'
    labels = str(LABEL_MAP)
    results = inference_recognizer(model, video, labels, use_frames=True)

    # 显示结果
    labels = open(str(LABEL_MAP)).readlines()
    labels = [x.strip() for x in labels]
    results = [(labels[k[0]], k[1]) for k in results]

    print('The top-5 labels with corresponding scores are:')
    for result in results:
        print(f'{result[0]}: ', result[1])

    assert len(results) == 5 and len({name for name, _ in results}) == 5
    scores = [score for _, score in results]
    assert scores == sorted(scores, reverse=True)
    saved = torch.load(checkpoint_file, weights_only=True)['state_dict']
    assert model.backbone.depth == 50
    # every weight was loaded (the default model has its BatchNorms folded into the convs)
    unfused = init_recognizer(config_file, checkpoint_file, device=device, fuse_conv_bn=False)
    for key, value in unfused.state_dict().items():
        torch.testing.assert_close(value, saved[key], rtol=0, atol=0, msg=key)


@pytest.fixture(scope='module')
def server() -> Iterator[str]:
    """``http://127.0.0.1:<port>`` serving the folder of demo.mp4."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(DEMO.parent))
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}'
    httpd.shutdown()
    httpd.server_close()


@needs_data
def test_guide_snippet_url(small: dict[str, Path], server: str, model: nn.Module) -> None:
    config_file = str(small['video'])
    checkpoint_file = str(small['checkpoint'])

    # 指定设备
    device = 'cpu'  # or 'cpu'
    device = torch.device(device)

    # 根据配置文件和检查点来建立模型
    url_model = init_recognizer(config_file, checkpoint_file, device=device)

    # 测试单个视频的 url 并显示其结果
    video = f'{server}/demo.mp4'
    labels = str(LABEL_MAP)
    results = inference_recognizer(url_model, video, labels)

    # 显示结果
    labels = open(str(LABEL_MAP)).readlines()
    labels = [x.strip() for x in labels]
    results = [(labels[k[0]], k[1]) for k in results]

    print('The top-5 labels with corresponding scores are:')
    for result in results:
        print(f'{result[0]}: ', result[1])

    local = inference_recognizer(model, str(DEMO))
    assert results == [(labels[k], s) for k, s in local]
    # a URL is never joined to data_prefix
    url_model.cfg.data.test.data_prefix = '/no/such/folder'
    assert inference_recognizer(url_model, video) == local


# ------------------------------------------------------------------ data_prefix
@needs_data
def test_video_paths_are_used_as_given_not_joined_to_data_prefix(
        model: nn.Module, monkeypatch: pytest.MonkeyPatch) -> None:
    # MMAction2 0.24.1 tests osp.exists(video) on the path itself: data_prefix plays no part
    expected = inference_recognizer(model, str(DEMO))
    model.cfg.data.test.data_prefix = str(DEMO.parent)
    with pytest.raises(FileNotFoundError, match=r"'demo\.mp4' does not exist.*working"):
        inference_recognizer(model, 'demo.mp4')  # would be found if data_prefix were joined
    monkeypatch.chdir(DEMO.parent.parent)
    model.cfg.data.test.data_prefix = '/no/such/folder'
    assert inference_recognizer(model, 'demo/demo.mp4') == expected  # relative to the cwd
    assert inference_recognizer(model, str(DEMO)) == expected


@needs_data
def test_frame_folders_are_used_as_given_not_joined_to_data_prefix(
        small: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    frames = init_recognizer(str(small['frames']), str(small['checkpoint']), device='cpu')
    expected = inference_recognizer(frames, str(IMGS), use_frames=True)
    assert inference_recognizer(frames, str(IMGS)) == expected  # a folder is found as such
    manual = _manual_top5(frames, dict(frame_dir=str(IMGS), total_frames=10, label=-1,
                                       start_index=1, filename_tmpl='img_{:05}.jpg',
                                       modality='RGB'))
    assert manual == expected  # 10 RGB frames counted, the x_/y_ flow frames left out
    frames.cfg.data.test.data_prefix = str(IMGS.parent)
    with pytest.raises(FileNotFoundError, match='not a frame folder'):
        inference_recognizer(frames, 'imgs', use_frames=True)
    monkeypatch.chdir(IMGS.parent.parent)  # VIDEO_NAME relative to the cwd, prefix ignored
    assert inference_recognizer(frames, 'data/imgs', use_frames=True) == expected
    with pytest.raises(FileNotFoundError, match='not a frame folder'):
        inference_recognizer(frames, str(DEMO), use_frames=True)


def test_init_recognizer_sets_backbone_pretrained_to_none(small: dict[str, Path]) -> None:
    cfg = Config.fromfile(str(small['video']))
    cfg.model.backbone.pretrained = 'torchvision://resnet18'  # MMAction2's TSN default
    model = init_recognizer(cfg, str(small['checkpoint']), device='cpu')
    assert model.cfg.model.backbone.pretrained is None  # as MMAction2 0.24.1's init_recognizer
    assert cfg.model.backbone.pretrained == 'torchvision://resnet18'  # the caller's copy


# ------------------------------------------------------------------ other inputs and outputs
@needs_data
def test_results_dict_and_array_inputs(small: dict[str, Path]) -> None:
    model = init_recognizer(str(small['video_pyav']), str(small['checkpoint']), device='cpu')
    expected = inference_recognizer(model, str(DEMO))
    results = dict(filename=str(DEMO), label=-1, start_index=0, modality='RGB')
    assert inference_recognizer(model, results) == expected
    assert 'imgs' not in results  # the caller's dict is not filled in
    reader = get_reader_class('pyav')(str(DEMO))
    try:
        array = np.stack(reader.get_frames(np.arange(len(reader))))  # T x H x W x 3 RGB
    finally:
        reader.close()
    assert inference_recognizer(model, array) == expected
    with pytest.raises(ValueError, match=r'T x H x W x 3.*\(280, 256, 340\)'):
        inference_recognizer(model, array[..., 0])
    with pytest.raises(TypeError, match='video must be a path.*got int'):
        inference_recognizer(model, 3)


@needs_data
def test_outputs_return_the_features(model: nn.Module) -> None:
    top5, feats = inference_recognizer(model, str(DEMO), outputs=('backbone', 'cls_head'))
    assert top5 == inference_recognizer(model, str(DEMO))
    backbone, head = feats['backbone'], feats['cls_head']
    assert isinstance(backbone, torch.Tensor) and isinstance(head, torch.Tensor)
    assert backbone.shape == (3 * 10, 512, 2, 2)  # 3 clips x TenCrop of 56: ResNet-18 maps
    assert head.shape == (1, 400)
    for k, score in top5:  # average_clips=None: the scores are the head's output
        assert head[0, k].item() == pytest.approx(score, rel=1e-6)
    with torch.no_grad():  # and the head on the returned features gives them again
        torch.testing.assert_close(model.cls_head(backbone, 30), head)
    backbone += 1  # ordinary tensors, not inference-mode ones
    _, arrays = inference_recognizer(model, str(DEMO), outputs='cls_head', as_tensor=False)
    assert list(arrays) == ['cls_head'] and isinstance(arrays['cls_head'], np.ndarray)
    np.testing.assert_allclose(arrays['cls_head'], head.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="no sub-module 'neck'.*backbone"):
        inference_recognizer(model, str(DEMO), outputs=['neck'])
    assert not model.backbone._forward_hooks and not model.cls_head._forward_hooks


# ------------------------------------------------------------------ errors
@needs_data
def test_label_file_with_too_few_names_is_refused_before_decoding(model: nn.Module,
                                                                  tmp_path: Path) -> None:
    short = tmp_path / 'labels.txt'
    short.write_text(''.join(f'class {i}\n' for i in range(10)))
    with pytest.raises(ValueError, match=r"labels\.txt' has 10 names but the model scores 400"):
        inference_recognizer(model, str(DEMO), str(short))
    with pytest.raises(ValueError, match='has 10 names'):  # checked before the video is read
        inference_recognizer(model, str(tmp_path / 'missing.mp4'), str(short))
    with pytest.raises(FileNotFoundError, match='no_labels.txt'):
        inference_recognizer(model, str(DEMO), str(tmp_path / 'no_labels.txt'))


@pytest.mark.parametrize('device', ['gpu:0', 'xla', 'cuda:x'])
def test_unknown_device_is_a_value_error(small: dict[str, Path], device: str) -> None:
    with pytest.raises(ValueError, match=rf"{device}.*'cpu', 'cuda', 'cuda:N'"):
        init_recognizer(str(small['video']), device=device)


@pytest.mark.skipif(torch.cuda.is_available(), reason='tests the fallback when CUDA is absent')
def test_cuda_without_cuda_warns_and_uses_the_cpu(small: dict[str, Path]) -> None:
    with pytest.warns(UserWarning, match='cuda:0 was asked for but CUDA is not available'):
        model = init_recognizer(str(small['video']), device='cuda:0')
    assert next(model.parameters()).device.type == 'cpu'


def test_config_without_a_test_pipeline_is_refused(tmp_path: Path) -> None:
    config = tmp_path / 'no_pipeline.py'
    config.write_text(f"_base_ = [{str(REPO / 'configs/_base_/models/tsn_r50.py')!r}]\n"
                      "data = dict(test=dict(type='VideoDataset', ann_file=None, "
                      "data_prefix=None))\n")
    with pytest.raises(ValueError, match=r'no_pipeline\.py has no data\.test\.pipeline'):
        init_recognizer(str(config), device='cpu')


def test_model_without_a_config_is_refused() -> None:
    with pytest.raises(TypeError, match='model from init_recognizer.*Conv2d'):
        inference_recognizer(nn.Conv2d(3, 3, 1), np.zeros((4, 8, 8, 3), np.uint8))


def test_checkpoint_of_another_architecture_names_the_keys(small: dict[str, Path],
                                                           tmp_path: Path) -> None:
    # a TSM checkpoint: its shifted convs live under conv.net
    with pytest.raises(RuntimeError) as info:
        init_recognizer(str(small['video']), str(small['tsm_checkpoint']), device='cpu')
    message = str(info.value)
    assert 'strict=True' in message
    assert 'backbone.layer1.0.conv1.conv.net.weight' in message  # unexpected
    assert 'backbone.layer1.0.conv1.conv.weight' in message  # missing
    # a ResNet-50 head on ResNet-18 features, 101 classes: both shapes are named
    cfg = Config.fromfile(str(small['video']))
    cfg.model.cls_head.num_classes = 101
    other = _save_checkpoint(cfg, tmp_path / 'ucf101.pth')
    with pytest.raises(RuntimeError, match=r'cls_head\.fc_cls\.weight \(checkpoint \[101, 512\], '
                                           r'model \[400, 512\]\)'):
        init_recognizer(str(small['video']), str(other), device='cpu')


@needs_data
def test_url_errors_name_the_url(model: nn.Module, server: str,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inference, 'fetch_url', functools.partial(download.fetch_url,
                                                                  timeout=0.5))
    with pytest.raises(OSError, match=r'127\.0\.0\.1:\d+/missing\.mp4: HTTP 404'):
        inference_recognizer(model, f'{server}/missing.mp4')
    silent = socket.socket()  # accepts connections into its backlog, never answers
    silent.bind(('127.0.0.1', 0))
    silent.listen(1)
    try:
        url = f'http://127.0.0.1:{silent.getsockname()[1]}/demo.mp4'
        with pytest.raises(OSError, match=rf'{url}: .*0\.5'):
            inference_recognizer(model, url)
    finally:
        silent.close()
    with pytest.raises(ValueError, match='use_frames=True needs a local frame folder'):
        inference_recognizer(model, f'{server}/demo.mp4', use_frames=True)


# ------------------------------------------------------------------ speed settings
@needs_data
@pytest.mark.parametrize('kind', ['video', 'tsm'])
def test_fuse_conv_bn_and_channels_last_keep_the_scores(small: dict[str, Path],
                                                        kind: str) -> None:
    checkpoint = str(small['tsm_checkpoint' if kind == 'tsm' else 'checkpoint'])
    plain = init_recognizer(str(small[kind]), checkpoint, device='cpu', fuse_conv_bn=False)
    fast = init_recognizer(str(small[kind]), checkpoint, device='cpu', fuse_conv_bn=True,
                           channels_last=True, max_testing_views=4)
    calls = []
    fast.backbone.register_forward_pre_hook(lambda module, args: calls.append(len(args[0])))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules())  # TSM's too
    convs = [m for m in fast.modules() if isinstance(m, nn.Conv2d)]
    assert convs and all(m.weight.is_contiguous(memory_format=torch.channels_last)
                         for m in convs if m.kernel_size != (1, 1))
    # by hand, in NCHW memory all along (the pipeline's own tensor is channels-last strided)
    imgs = Compose(plain.cfg.data.test.pipeline)(dict(
        filename=str(DEMO), label=-1, start_index=0, modality='RGB'))['imgs'].contiguous()
    with torch.no_grad():
        feats = plain.backbone(imgs)
        manual = dict(backbone=feats.numpy(), cls_head=plain.cls_head(feats, len(imgs)).numpy())
    names = ('backbone', 'cls_head')
    for model in (plain, fast):
        top5, got = inference_recognizer(model, str(DEMO), outputs=names, as_tensor=False)
        for name in names:  # equal up to float rounding, relative to the output's scale
            scale = np.abs(manual[name]).max()
            assert scale > 1e-3, name  # not a trivially small output
            np.testing.assert_allclose(got[name], manual[name], rtol=1e-4, atol=1e-5 * scale,
                                       err_msg=name)
        assert [k for k, _ in top5] == list(np.argsort(-got['cls_head'][0], kind='stable')[:5])
    # 4 views at a time: TSN's 30 one-frame views in chunks of 4; TSM's one 8-frame view whole
    assert calls == ([8] if kind == 'tsm' else [4] * 7 + [2])
    assert plain.cfg.model.test_cfg.get('max_testing_views') is None  # the config is as given
    with pytest.raises(TypeError, match='fuse_conv_bn must be True or False'):
        init_recognizer(str(small[kind]), device='cpu', fuse_conv_bn='yes')
    with pytest.raises(ValueError, match='max_testing_views must be a positive int.*got 0'):
        init_recognizer(str(small[kind]), device='cpu', max_testing_views=0)


@needs_data
def test_decoder_option_swaps_the_config_decoder(small: dict[str, Path], model: nn.Module,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    pyav = init_recognizer(str(small['video_pyav']), str(small['checkpoint']), device='cpu')
    expected = inference_recognizer(pyav, str(DEMO))

    def refuse(self: OpenCVInit, results: dict) -> dict:
        raise AssertionError('OpenCV was used')

    monkeypatch.setattr(OpenCVInit, '__call__', refuse)
    with pytest.raises(AssertionError, match='OpenCV was used'):
        inference_recognizer(model, str(DEMO))  # the config names OpenCV
    assert inference_recognizer(model, str(DEMO), decoder='pyav') == expected
    try:  # where torchcodec loads: its frames of demo.mp4 are PyAV's, so are the scores
        from actionkit.datasets.pipelines.decoders.torchcodec_reader import (
            _import_video_decoder)
        _import_video_decoder()
    except ImportError:
        pass
    else:
        assert inference_recognizer(model, str(DEMO), decoder='torchcodec') == expected
    results = dict(filename=str(DEMO), label=-1, start_index=0, modality='RGB')
    assert inference_recognizer(model, results, decoder='pyav') == expected
    assert [step['type'] for step in model.cfg.data.test.pipeline][:3] == \
        ['OpenCVInit', 'SampleFrames', 'OpenCVDecode']  # the config is left alone
    with pytest.raises(ValueError, match=r"decoder must be one of \['decord', 'opencv', "
                                         r"'pyav', 'torchcodec'\] or None, got 'ffmpeg'"):
        inference_recognizer(model, str(DEMO), decoder='ffmpeg')
