"""Tests for actionkit.config: ConfigDict, Config loading/merging/overrides/dumping, DictAction,
tools/analysis/print_config.py, and every config file of MMAction2 0.24.1 (when cached)."""
from __future__ import annotations

import argparse
import copy
import importlib.util
import pickle
import sys
from pathlib import Path

import pytest

from actionkit.config import Config, ConfigDict, DictAction

ROOT = Path(__file__).resolve().parents[1]
TREE = ROOT / 'tests' / 'data' / 'configs'
TINY = TREE / 'recognition' / 'tiny' / 'tiny_r18_1x1x3_10e_toy_rgb.py'
ERRORS = TREE / 'errors'
MMACTION_CONFIGS = ROOT / '.cache' / 'mmaction2-0.24.1' / 'mmaction' / '.mim' / 'configs'
MMACTION_FILES = sorted(MMACTION_CONFIGS.rglob('*.py')) if MMACTION_CONFIGS.is_dir() else []
SHIPPED_FILES = sorted((ROOT / 'configs').rglob('*.py')) if (ROOT / 'configs').is_dir() else []


# ---------------------------------------------------------------------------------- ConfigDict
def test_configdict_converts_nested_dicts_also_inside_lists_and_tuples():
    cfg = ConfigDict(model=dict(backbone=dict(depth=50)),
                     pipeline=[dict(type='A'), (dict(type='B'), 3)])
    assert cfg.model.backbone.depth == 50
    assert cfg.pipeline[0].type == 'A'
    assert cfg.pipeline[1][0].type == 'B' and isinstance(cfg.pipeline[1], tuple)
    cfg.data = dict(train=dict(type='X'))  # assignment converts too
    assert cfg.data.train.type == 'X'
    cfg.model.backbone.depth = 101
    assert cfg['model']['backbone']['depth'] == 101
    assert isinstance(cfg.to_dict()['model'], dict) and not isinstance(
        cfg.to_dict()['model'], ConfigDict)


def test_configdict_missing_attribute_names_key_and_close_matches():
    cfg = ConfigDict(optimizer=dict(lr=0.1), lr_config=dict(step=[1]))
    with pytest.raises(AttributeError, match=r"no key 'optimiser'.*Did you mean 'optimizer'"):
        _ = cfg.optimiser
    with pytest.raises(KeyError):
        cfg['optimiser']
    assert not hasattr(cfg, 'total_epochs')
    assert cfg.get('total_epochs', 7) == 7
    with pytest.raises(AttributeError, match='is a method of ConfigDict'):
        cfg.items = 3


def test_configdict_copies_and_pickles():
    cfg = ConfigDict(a=dict(b=[1, 2]))
    deep = copy.deepcopy(cfg)
    deep.a.b.append(3)
    assert cfg.a.b == [1, 2] and isinstance(deep, ConfigDict) and isinstance(deep.a, ConfigDict)
    shallow = cfg.copy()
    shallow.c = 1
    assert 'c' not in cfg and shallow.a is cfg.a
    restored = pickle.loads(pickle.dumps(cfg))
    assert restored == cfg and restored.a.b == [1, 2]


# ------------------------------------------------------------------------------ Config object
def test_config_delegates_to_its_dict():
    cfg = Config(dict(model=dict(type='R'), total_epochs=3), filename='x.py')
    assert cfg.model.type == 'R' and cfg['total_epochs'] == 3
    assert list(cfg) == ['model', 'total_epochs'] and len(cfg) == 2 and 'model' in cfg
    assert cfg.get('missing') is None and dict(cfg.items())['total_epochs'] == 3
    cfg.work_dir = 'w'
    cfg['seed'] = 0
    assert cfg.work_dir == 'w' and cfg.seed == 0
    assert cfg.filename == 'x.py' and 'Config (path: x.py)' in repr(cfg)
    with pytest.raises(AttributeError, match="no key 'modle'.*'model'"):
        _ = cfg.modle


def test_config_rejects_reserved_keys_and_non_dicts():
    with pytest.raises(KeyError, match="'filename' is reserved"):
        Config(dict(filename='a'))
    with pytest.raises(TypeError, match='cfg_dict must be a dict'):
        Config([1, 2])


def test_config_copy_deepcopy_and_pickle():
    cfg = Config.fromfile(TINY)
    deep = copy.deepcopy(cfg)
    deep.model.backbone.depth = 1
    assert cfg.model.backbone.depth == 50 and deep.filename == cfg.filename
    shallow = cfg.copy()
    shallow.total_epochs = 99
    assert cfg.total_epochs == 12 and isinstance(shallow, Config)
    restored = pickle.loads(pickle.dumps(cfg))
    assert restored.to_dict() == cfg.to_dict() and restored.text == cfg.text


# --------------------------------------------------------------------- loading the tiny tree
def test_fromfile_merges_bases_in_order_then_the_child():
    cfg = Config.fromfile(TINY)
    assert cfg.filename == str(TINY)
    # child overrides merged into the base dicts
    assert cfg.model.type == 'Recognizer2D'
    assert cfg.model.backbone == dict(type='ResNet', pretrained=None, depth=50, norm_eval=False)
    assert cfg.model.cls_head.in_channels == 2048 and cfg.model.cls_head.num_classes == 5
    assert cfg.lr_config == dict(policy='step', step=[6, 9])
    assert cfg.total_epochs == 12
    # values from bases the child did not touch
    assert cfg.optimizer_config.grad_clip.max_norm == 40
    assert cfg.workflow == [('train', 1)] and isinstance(cfg.workflow[0], tuple)
    # variables used further down the same file
    assert cfg.data.train.type == 'RawframeDataset'
    assert cfg.data.train.pipeline[3] == dict(type='Normalize', mean=[123.675, 116.28, 103.53],
                                              std=[58.395, 57.12, 57.375], to_bgr=False)
    assert cfg.data.train.pipeline[2].scale == (-1, 256)


def test_fromfile_delete_replaces_the_base_dict():
    cfg = Config.fromfile(TINY)
    assert cfg.optimizer == dict(type='Adam', lr=0.001)  # no momentum/weight_decay from base


def test_fromfile_drops_private_names_modules_and_functions():
    cfg = Config.fromfile(TINY)
    assert not {'math', 'helper', '_private_helper', '_base_'} & set(cfg)
    assert cfg.data.workers_per_gpu == 0  # computed with them at load time
    assert '_delete_' not in str(cfg.to_dict())


def test_text_holds_every_file_bases_first():
    text = Config.fromfile(TINY).text
    names = ['tiny_tsn.py', 'sgd_10e.py', 'default_runtime.py', 'tiny_r18_1x1x3_10e_toy_rgb.py']
    positions = [text.index(name) for name in names]
    assert positions == sorted(positions)
    assert "optimizer = dict(_delete_=True, type='Adam'" in text


def test_json_and_yaml_configs_with_bases():
    cfg = Config.fromfile(TREE / 'formats' / 'child_of_yaml.py')
    assert cfg.model.backbone == dict(type='ResNet3d', depth=101)
    assert cfg.model.type == 'Recognizer3D' and cfg.model.cls_head.num_classes == 7
    assert cfg.scales == [1, 0.875] and cfg.total_epochs == 5
    assert len(Config.fromfile(TREE / 'formats' / 'empty.yaml')) == 0


def test_fromstring_python_json_yaml():
    assert Config.fromstring('a = dict(b=(1, 2))\n_c = 3\n').a.b == (1, 2)
    assert Config.fromstring('{"a": {"b": 1}}', '.json').a.b == 1
    assert Config.fromstring('a:\n  b: 1\n', '.yaml').to_dict() == {'a': {'b': 1}}
    with pytest.raises(ValueError, match="unsupported config format '.toml'"):
        Config.fromstring('a = 1', '.toml')


# ------------------------------------------------------------------------------------ errors
def test_missing_config_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.py does not exist'):
        Config.fromfile(tmp_path / 'nope.py')
    (tmp_path / 'cfg.txt').write_text('a = 1')
    with pytest.raises(ValueError, match="unsupported config format '.txt'"):
        Config.fromfile(tmp_path / 'cfg.txt')


def test_missing_base_names_the_asking_file_and_resolved_path():
    with pytest.raises(FileNotFoundError) as info:
        Config.fromfile(ERRORS / 'missing_base.py')
    message = str(info.value)
    assert str(ERRORS / 'missing_base.py') in message
    assert "'no_such_base.py'" in message and str(ERRORS / 'no_such_base.py') in message


def test_base_cycle_is_shown():
    with pytest.raises(ValueError, match='cycle') as info:
        Config.fromfile(ERRORS / 'cycle_a.py')
    a, b = str(ERRORS / 'cycle_a.py'), str(ERRORS / 'cycle_b.py')
    assert f'{a} -> {b} -> {a}' in str(info.value)


def test_syntax_error_names_file_and_line(tmp_path):
    path = tmp_path / 'broken.py'
    path.write_text("model = dict(type='R')\ndata = dict(videos_per_gpu=8\nx = 1\n")
    with pytest.raises(SyntaxError, match=r'broken\.py, line [23]') as info:
        Config.fromfile(path)
    assert info.value.filename == str(path)


def test_invalid_json_and_yaml_name_file_and_line(tmp_path):
    (tmp_path / 'bad.json').write_text('{\n  "a": 1,\n}\n')
    with pytest.raises(ValueError, match=r'invalid JSON in config file .*bad\.json, line 3'):
        Config.fromfile(tmp_path / 'bad.json')
    (tmp_path / 'bad.yaml').write_text('a: [1, 2\nb: 3\n')
    with pytest.raises(ValueError, match=r'invalid YAML in config file .*bad\.yaml, line'):
        Config.fromfile(tmp_path / 'bad.yaml')
    (tmp_path / 'list.json').write_text('[1, 2]')
    with pytest.raises(TypeError, match='mapping at the top level, got list'):
        Config.fromfile(tmp_path / 'list.json')


def test_type_clash_names_dotted_key_both_files_and_delete():
    with pytest.raises(TypeError, match=r"'log_level'.*dict.*str.*default_runtime\.py.*"
                                        r"_delete_=True"):
        Config.fromfile(ERRORS / 'dict_over_scalar.py')  # child dict over a base str


def test_a_child_list_replaces_a_base_dict_as_in_mmcv():
    # mmcv merges only a dict into a dict; any other child value replaces the base value
    cfg = Config.fromfile(ERRORS / 'type_clash.py')  # child list over a base dict
    assert cfg.model.test_cfg == [1, 2]
    assert cfg.model.backbone.depth == 50  # the dict beside it still merges


def test_same_key_in_two_bases_raises():
    with pytest.raises(KeyError, match=r"'total_epochs' is defined by two _base_ files.*"
                                       r"sgd_10e\.py.*also_total_epochs\.py"):
        Config.fromfile(ERRORS / 'duplicate_in_bases.py')


def test_bad_base_type():
    with pytest.raises(TypeError, match='_base_ in config file .* must be a path'):
        Config.fromfile(ERRORS / 'bad_base_type.py')


def test_base_variables_are_not_visible_in_the_child(tmp_path):
    (tmp_path / 'base.py').write_text('total_epochs = 10\n')
    (tmp_path / 'child.py').write_text("_base_ = 'base.py'\nstep = [total_epochs // 2]\n")
    with pytest.raises(NameError, match='total_epochs') as info:
        Config.fromfile(tmp_path / 'child.py')
    notes = '\n'.join(getattr(info.value, '__notes__', []))
    assert 'child.py' in notes and 'runs on its own' in notes


# ---------------------------------------------------------------------------- custom_imports
def test_custom_imports_registers_modules(tmp_path, monkeypatch):
    module = 'actionkit_test_custom_module_ok'
    (tmp_path / f'{module}.py').write_text('import sys\nsys.modules[__name__].LOADED = True\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, module, raising=False)
    (tmp_path / 'cfg.py').write_text(f"custom_imports = dict(imports=['{module}'])\n")
    Config.fromfile(tmp_path / 'cfg.py', import_custom_modules=False)
    assert module not in sys.modules
    cfg = Config.fromfile(tmp_path / 'cfg.py')
    assert sys.modules[module].LOADED and cfg.custom_imports.imports == [module]


def test_custom_imports_failure_raises_or_warns(tmp_path):
    missing = 'actionkit_test_no_such_module'
    (tmp_path / 'strict.py').write_text(f"custom_imports = dict(imports=['{missing}'])\n")
    with pytest.raises(ImportError, match=f"cannot import '{missing}'"):
        Config.fromfile(tmp_path / 'strict.py')
    (tmp_path / 'lenient.py').write_text(
        f"custom_imports = dict(imports='{missing}', allow_failed_imports=True)\n")
    with pytest.warns(UserWarning, match=f"cannot import '{missing}'"):
        Config.fromfile(tmp_path / 'lenient.py')
    (tmp_path / 'typo.py').write_text("custom_imports = dict(import_=['x'])\n")
    with pytest.raises(KeyError, match=r"unknown keys \['import_'\]"):
        Config.fromfile(tmp_path / 'typo.py')


# -------------------------------------------------------------------------- merge_from_dict
def test_merge_from_dict_sets_nested_values_and_list_items():
    cfg = Config.fromfile(TINY)
    cfg.merge_from_dict({'model.backbone.depth': 101, 'data.train.pipeline.2.scale': (1, 2),
                         'optimizer': dict(lr=0.5), 'model.train_cfg': dict(aux=1)})
    assert cfg.model.backbone.depth == 101 and cfg.model.backbone.type == 'ResNet'
    assert cfg.data.train.pipeline[2] == dict(type='Resize', scale=(1, 2))
    assert cfg.optimizer == dict(type='Adam', lr=0.5)  # a dict value merges
    assert cfg.model.train_cfg.aux == 1  # a dict replaces None
    cfg.merge_from_dict({'optimizer': dict(_delete_=True, type='SGD', lr=0.1)})
    assert cfg.optimizer == dict(type='SGD', lr=0.1)


def test_merge_from_dict_unknown_key_is_an_error_with_close_matches():
    cfg = Config.fromfile(TINY)
    with pytest.raises(KeyError, match=r"'model\.backbone\.deptj'.*'model\.backbone' has no key "
                                       r"'deptj'.*Did you mean 'depth'"):
        cfg.merge_from_dict({'model.backbone.deptj': 101})
    with pytest.raises(KeyError, match=r"the top level has no key 'modle'.*Did you mean 'model'"):
        cfg.merge_from_dict({'modle.backbone.depth': 101})
    with pytest.raises(KeyError, match=r"'optimizer'.*has no key 'lrr'.*Did you mean 'lr'"):
        cfg.merge_from_dict({'optimizer': dict(lrr=0.9)})
    with pytest.raises(KeyError, match=r'list of 5 items, expected an index 0\.\.4, got .7.'):
        cfg.merge_from_dict({'data.train.pipeline.7.scale': 1})
    with pytest.raises(KeyError, match='is of type int, not a dict'):
        cfg.merge_from_dict({'total_epochs.x': 1})
    with pytest.raises(KeyError, match='has no key'):  # a failing override changes nothing
        cfg.merge_from_dict({'model.backbone.depth': 101, 'model.backbone.deptth': 1})
    assert cfg.model.backbone.depth == 50


def test_merge_from_dict_adds_new_keys_unless_they_look_like_typos():
    # the guide's own example: with_cp is not in the config, the backbone takes it
    cfg = Config(dict(model=dict(backbone=dict(type='ResNet', depth=50))))
    cfg.merge_from_dict({'model.backbone.depth': 18, 'model.backbone.with_cp': True,
                         'work_dir': 'w'})
    assert cfg.model.backbone.with_cp is True and cfg.work_dir == 'w'
    with pytest.raises(KeyError, match="has no key 'dpeth'.*Did you mean 'depth'"):
        cfg.merge_from_dict({'model.backbone.dpeth': 101})
    with pytest.raises(KeyError, match="has no key 'neck'"):  # the parent must exist
        cfg.merge_from_dict({'model.neck.x': 1})
    with pytest.raises(KeyError, match="has no key 'frozen_stages'"):
        cfg.merge_from_dict({'model.backbone.frozen_stages': 1}, allow_new_keys=False)


def test_merge_from_dict_allow_new_keys():
    cfg = Config(dict(model=dict(backbone=dict(depth=50))))
    cfg.merge_from_dict({'model.backbone.frozen_stages': 2, 'work_dir': 'w'},
                        allow_new_keys=True)
    assert cfg.model.backbone.frozen_stages == 2 and cfg.work_dir == 'w'
    with pytest.raises(KeyError, match="has no key 'neck'"):  # the parent must exist
        cfg.merge_from_dict({'model.neck.x': 1}, allow_new_keys=True)


# ------------------------------------------------------------------------ dump, pretty_text
def test_dump_python_round_trips_with_tuples(tmp_path):
    cfg = Config.fromfile(TINY)
    cfg.merge_from_dict({'model.test_cfg': dict(weird={'a.b': (1,), 3: [None, True]},
                                                inf=float('inf'), empty=())},
                        allow_new_keys=True)
    path = tmp_path / 'dumped.py'
    assert cfg.dump(path) is None
    loaded = Config.fromfile(path)
    assert loaded.to_dict() == cfg.to_dict()
    assert loaded.data.train.pipeline[2].scale == (-1, 256)
    assert loaded.model.test_cfg.weird['a.b'] == (1,)
    assert cfg.dump() == cfg.pretty_text == path.read_text()


@pytest.mark.parametrize('suffix', ['.json', '.yaml', '.yml'])
def test_dump_json_yaml_round_trip_with_tuples_as_lists(tmp_path, suffix):
    cfg = Config.fromfile(TINY)
    path = tmp_path / f'dumped{suffix}'
    cfg.dump(path)
    loaded = Config.fromfile(path)
    assert loaded.model.to_dict() == cfg.model.to_dict()
    assert loaded.data.train.pipeline[2].scale == [-1, 256]
    json_cfg = Config.fromfile(TREE / 'formats' / 'base.json')
    assert json_cfg.dump().lstrip().startswith('{')  # the format follows cfg.filename


def test_dump_writes_classes_as_imports_and_rejects_other_objects(tmp_path):
    cfg = Config(dict(model=dict(type=argparse.ArgumentParser, act=copy.deepcopy),
                      Path=Path('x')))
    with pytest.raises(TypeError, match="config key 'Path'"):
        cfg.dump()
    del cfg['Path']
    text = cfg.dump()
    assert 'from argparse import ArgumentParser' in text
    assert Config.fromstring(text).model.to_dict() == cfg.model.to_dict()
    assert "Path('x')" in Config(dict(p=Path('x'))).pretty_text  # shown, though not loadable


def test_pretty_text_breaks_long_values_and_keeps_short_ones_on_one_line():
    cfg = Config.fromfile(TINY)
    lines = cfg.pretty_text.splitlines()
    assert "log_level = 'INFO'" in lines
    assert 'optimizer = dict(type=\'Adam\', lr=0.001)' in lines
    assert 'model = dict(' in lines and all(len(line) <= 100 for line in lines)


# ------------------------------------------------------------------------------- DictAction
@pytest.mark.parametrize('value, expected', [
    ('1', 1), ('-3', -3), ('1.5', 1.5), ('1e-4', 1e-4), ('True', True), ('false', False),
    ('None', None), ('abc', 'abc'), ('torchvision://resnet50', 'torchvision://resnet50'),
    ('1,5', [1, 5]), ('[1,2]', [1, 2]), ('(1,2)', (1, 2)), ('(1,)', (1,)), ('[]', []),
    ('()', ()), ('[(1,2),[a,b]]', [(1, 2), ['a', 'b']]), ('(1,2),(3,4)', [(1, 2), (3, 4)]),
    ("'x,y'", 'x,y'), ('[1, "a b"]', [1, 'a b']), ("it's", "it's"), ('', ''),
    ('__import__("os")', '__import__("os")'),
])
def test_dict_action_parses_values(value, expected):
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parsed = parser.parse_args(['--cfg-options', f'key={value}']).cfg_options
    assert parsed == {'key': expected}
    assert type(parsed['key']) is type(expected)


def test_dict_action_collects_several_pairs_and_rejects_malformed(capsys):
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(['--cfg-options', 'a.b=1', 'c=x=y', '--cfg-options', 'd=2'])
    assert args.cfg_options == {'a.b': 1, 'c': 'x=y', 'd': 2}
    with pytest.raises(SystemExit):
        parser.parse_args(['--cfg-options', 'novalue'])
    assert "expects KEY=VALUE pairs, got 'novalue'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(['--cfg-options', 'a=[1,2'])
    assert "missing ']'" in capsys.readouterr().err


# ------------------------------------------------------------------------- print_config tool
def _print_config_main():
    path = ROOT / 'tools' / 'analysis' / 'print_config.py'
    spec = importlib.util.spec_from_file_location('print_config', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_print_config_prints_the_merged_config_with_overrides(capsys):
    main = _print_config_main()
    assert main([str(TINY), '--cfg-options', 'model.backbone.depth=101',
                 'data.train.pipeline.2.scale=(1,2)']) == 0
    out = capsys.readouterr().out
    assert 'depth=101' in out and 'scale=(1, 2)' in out and "type='Adam'" in out
    assert main([str(TINY), '--options', 'total_epochs=3']) == 0
    assert 'total_epochs = 3' in capsys.readouterr().out
    assert main([str(TINY), '--cfg-options', 'model.backbone.deptj=1']) == 1
    assert "Did you mean 'depth'" in capsys.readouterr().err


def test_add_config_args_and_load_config_are_the_one_cfg_options_path():
    from actionkit.config import add_config_args, load_config
    parser = argparse.ArgumentParser()
    parser.add_argument('config')
    add_config_args(parser, deprecated_options=True)
    args = parser.parse_args([str(TINY), '--options', 'total_epochs=3', 'seed=5',
                              '--cfg-options', 'seed=7'])
    with pytest.warns(DeprecationWarning, match='--options'):
        cfg = load_config(args)
    assert cfg.total_epochs == 3 and cfg.seed == 7  # --cfg-options wins over --options
    assert cfg.filename == str(TINY)
    plain = argparse.ArgumentParser()
    plain.add_argument('config')
    add_config_args(plain)
    with pytest.raises(SystemExit):  # --options only where the tool asks for it
        plain.parse_args([str(TINY), '--options', 'seed=1'])
    assert load_config(plain.parse_args([str(TINY)])).to_dict() == Config.fromfile(TINY).to_dict()


# ------------------------------------------------------------- MMAction2's own config files
@pytest.mark.skipif(not MMACTION_FILES, reason=f'MMAction2 0.24.1 configs not found at '
                    f'{MMACTION_CONFIGS} (scripts/test.sh downloads them)')
@pytest.mark.parametrize('path', MMACTION_FILES,
                         ids=[str(p.relative_to(MMACTION_CONFIGS)) for p in MMACTION_FILES])
def test_every_mmaction2_config_loads_and_round_trips(path):
    cfg = Config.fromfile(path)
    assert len(cfg) > 0
    if '_base_' not in path.parts:
        assert 'model' in cfg or 'dataset_type' in cfg or 'data' in cfg
    assert Config.fromstring(cfg.dump()).to_dict() == cfg.to_dict()


@pytest.mark.skipif(not MMACTION_FILES, reason='MMAction2 0.24.1 configs not found')
def test_mmaction2_tsn_config_values():
    cfg = Config.fromfile(MMACTION_CONFIGS / 'recognition' / 'tsn'
                          / 'tsn_r50_1x1x3_100e_kinetics400_rgb.py')
    assert cfg.model.type == 'Recognizer2D'
    assert cfg.model.backbone.depth == 50
    assert cfg.model.backbone.pretrained == 'torchvision://resnet50'
    assert cfg.model.cls_head.num_classes == 400 and cfg.model.test_cfg.average_clips is None
    assert [step.type for step in cfg.data.train.pipeline] == [
        'SampleFrames', 'RawFrameDecode', 'Resize', 'MultiScaleCrop', 'Resize', 'Flip',
        'Normalize', 'FormatShape', 'Collect', 'ToTensor']
    assert cfg.data.train.pipeline[3].scales == (1, 0.875, 0.75, 0.66)
    assert cfg.data.test.pipeline[0].num_clips == 25
    assert cfg.optimizer == dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001)
    assert cfg.lr_config.step == [40, 80] and cfg.total_epochs == 100
    assert cfg.checkpoint_config.interval == 5  # the child's value wins over the runtime's 1
    assert cfg.workflow == [('train', 1)] and cfg.log_level == 'INFO'
    assert cfg.work_dir == './work_dirs/tsn_r50_1x1x3_100e_kinetics400_rgb/'


@pytest.mark.skipif(not MMACTION_FILES, reason='MMAction2 0.24.1 configs not found')
def test_mmaction2_config_with_nested_overrides_of_a_base():
    # the TSM child sets a few keys deep inside the base model dict; the rest is kept
    base = Config.fromfile(MMACTION_CONFIGS / '_base_' / 'models' / 'tsm_r50.py')
    cfg = Config.fromfile(MMACTION_CONFIGS / 'recognition' / 'tsm'
                          / 'tsm_r50_1x1x16_50e_sthv2_rgb.py')
    assert cfg.model.backbone.num_segments == 16 and 'num_segments' not in base.model.backbone
    assert cfg.model.cls_head.num_classes == 174 and base.model.cls_head.num_classes == 400
    assert cfg.model.backbone.shift_div == 8 and cfg.model.cls_head.is_shift is True
    assert cfg.model.test_cfg == base.model.test_cfg == dict(average_clips='prob')


@pytest.mark.skipif(not SHIPPED_FILES, reason='no configs/ folder')
@pytest.mark.parametrize('path', SHIPPED_FILES,
                         ids=[str(p.relative_to(ROOT)) for p in SHIPPED_FILES])
def test_shipped_configs_load(path):
    assert len(Config.fromfile(path)) > 0
