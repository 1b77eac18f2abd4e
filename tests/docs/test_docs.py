"""The user documentation stays true: its code blocks run, its links and paths exist.

How a doc marks its code blocks (HTML comments, invisible on GitHub), on the line(s) just
before the opening fence:

* ``<!-- test: run -->``: run it. A ``python`` block is executed (the blocks of one document
  share a namespace, like notebook cells); a ``bash`` block runs command by command, and
  fails on the first non-zero exit status.
* ``<!-- test: file PATH -->``: write the block's text to ``PATH`` in the sandbox (a config
  file, a user module, an annotation list) for later blocks to use;
  ``<!-- test: file PATH (continued) -->`` appends it to a file an earlier block wrote.
* ``<!-- test: skip (REASON) -->``: do not run it; REASON says why (needs a GPU, a cluster, a
  real dataset, the network, or the block is a fragment / synopsis).

Every ``python`` / ``bash`` / ``shell`` / ``sh`` block must carry one of them
(:func:`test_every_code_block_is_marked`), so a new example cannot silently go untested.

Each document runs in its own sandbox folder, which stands for the repository root: it has
``configs/``, ``tools/`` and ``scripts/`` linked from the repository, and ``data/synthetic/``
holding the session's tiny synthetic dataset (30 train + 10 val clips of 16 frames at 32x32,
the ``synthetic_data`` fixture; the docs' ``actionkit data synthetic`` command asks for
exactly these parameters, so it finds the data complete). Commands run inside this process
(see ``doc_snippets.py``), so the documents' whole run takes well under two minutes on 2 CPU
cores.
"""
from __future__ import annotations

import inspect
import re
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from doc_snippets import (CHECKED_LANGUAGES, DocRunner, parse_blocks,  # noqa: E402
                          restore_registries, sandbox_modules, snapshot_registries)

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / 'docs'
# the documents of this part (6_export_model.md belongs to the export part and its tests)
OWN_DOCS = ['index.md', 'getting_started.md', 'data_preparation.md', 'model_zoo.md',
            'useful_tools.md',
            'tutorials/1_config.md', 'tutorials/2_finetune.md', 'tutorials/3_new_dataset.md',
            'tutorials/4_data_pipeline.md', 'tutorials/5_new_modules.md',
            'tutorials/7_customize_runtime.md']
RUNNABLE_DOCS = [doc for doc in OWN_DOCS
                 if any(b.action == 'run' for b in parse_blocks(DOCS / doc))]


@pytest.fixture
def sandbox(tmp_path: Path, synthetic_data: dict) -> Path:
    """A folder laid out like the repository root, with the tiny synthetic dataset."""
    for name in ('configs', 'tools', 'scripts'):
        (tmp_path / name).symlink_to(REPO / name, target_is_directory=True)
    shutil.copytree(synthetic_data['root'], tmp_path / 'data' / 'synthetic')
    return tmp_path


@pytest.fixture
def isolated_registries(sandbox: Path):
    """Undo the registrations a document's examples make (its own backbones, hooks ...) and
    forget the modules it imported from its sandbox."""
    saved = snapshot_registries()
    yield
    restore_registries(saved)
    for name in sandbox_modules(sandbox):
        del sys.modules[name]


@pytest.fixture
def one_thread():
    """Tiny models on a shared 2-core machine run several times faster on one thread."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize('doc', RUNNABLE_DOCS)
def test_doc_code_runs(doc: str, sandbox: Path, isolated_registries: None,
                       one_thread: None) -> None:
    runner = DocRunner(sandbox)
    for block in parse_blocks(DOCS / doc):
        runner.run_block(block)


@pytest.mark.parametrize('doc', OWN_DOCS)
def test_every_code_block_is_marked(doc: str) -> None:
    problems = []
    for block in parse_blocks(DOCS / doc):
        if block.directive is not None and block.action is None:
            problems.append(f'{block.where}: unknown directive <!-- test: {block.directive} -->'
                            ' (expected run, file PATH [(continued)] or skip (REASON))')
        elif block.lang in CHECKED_LANGUAGES and block.action is None:
            problems.append(f'{block.where}: {block.lang} block without a <!-- test: ... --> '
                            'directive')
        elif block.action == 'run' and block.lang not in CHECKED_LANGUAGES:
            problems.append(f'{block.where}: only python / bash blocks can be run')
    assert not problems, '\n'.join(problems)


_LINK = re.compile(r'\]\((?P<target>[^)\s]+)\)')


def _anchors(path: Path) -> set[str]:
    """GitHub's anchors of the headings of a Markdown file (code blocks skipped)."""
    anchors, in_code = set(), False
    for line in path.read_text(encoding='utf-8').splitlines():
        if line.lstrip().startswith(('```', '~~~')):
            in_code = not in_code
        elif not in_code and line.startswith('#'):
            title = line.lstrip('#').strip().lower()
            anchors.add(re.sub(r'[^\w\- ]', '', title).replace(' ', '-'))
    return anchors


@pytest.mark.parametrize('doc', OWN_DOCS)
def test_relative_links_resolve(doc: str) -> None:
    """Links to other files point at existing files, and their #anchors at headings."""
    path = DOCS / doc
    broken = []
    for match in _LINK.finditer(path.read_text(encoding='utf-8')):
        target, _, anchor = match['target'].partition('#')
        if re.match(r'^[a-z]+://', target) or target.startswith('mailto:'):
            continue
        file = (path.parent / target) if target else path
        if not file.exists():
            broken.append(f'{match["target"]} (no such file)')
        elif anchor and file.suffix == '.md' and anchor not in _anchors(file):
            broken.append(f'{match["target"]} (no such heading)')
    assert not broken, f'{doc}: broken links: {broken}'


_CONFIG_PATH = re.compile(r'(?<![\w/.])(?:\.\./)*(configs/[\w./-]+?\.py)\b')


@pytest.mark.parametrize('doc', OWN_DOCS)
def test_config_paths_exist(doc: str) -> None:
    text = (DOCS / doc).read_text(encoding='utf-8')
    missing = sorted({m for m in _CONFIG_PATH.findall(text) if not (REPO / m).is_file()})
    assert not missing, f'{doc} names config files that do not exist: {missing}'


# options of other programs that the docs mention
_FOREIGN_OPTIONS = {'--index-url', '--help', '--version',
                    # torchrun's and srun's, in the launch lines of tools/*_train.sh
                    '--nnodes', '--nproc_per_node', '--nproc-per-node', '--max-restarts',
                    '--rdzv-backend', '--rdzv-endpoint', '--rdzv-id', '--ntasks-per-node'}
_OPTION = re.compile(r'(?<![\w-])(--[a-z][a-z0-9_-]*[a-z0-9])')


def _defined_options() -> set[str]:
    """Every ``'--option'`` string literal of the package, the tools, the demos and the
    benchmarks."""
    sources = [*(REPO / 'actionkit').rglob('*.py'), *(REPO / 'tools').rglob('*.py'),
               *(REPO / 'demo').glob('*.py'), *(REPO / 'benchmarks').glob('*.py')]
    return {option for source in sources
            for option in re.findall(r"""['"](--[a-z][a-z0-9_-]*)['"]""", source.read_text())}


@pytest.mark.parametrize('doc', [d for d in OWN_DOCS if d != 'index.md'])
def test_documented_options_exist(doc: str) -> None:
    used = set(_OPTION.findall((DOCS / doc).read_text(encoding='utf-8')))
    unknown = sorted(used - _defined_options() - _FOREIGN_OPTIONS)
    assert not unknown, f'{doc} documents options no command has: {unknown}'


# ------------------------------------------------------------------------- tutorial 4's table
_KEY_LINE = re.compile(r'^\s*(Required|Optional|Added|Modified|Removed) keys(?: \(also\))?:(.*)$')


def _docstring_keys(cls: type) -> dict[str, set[str]]:
    """``{'Required': {...}, 'Added': {...}, ...}`` as the step's docstring lists them."""
    keys: dict[str, set[str]] = {k: set() for k in ('Required', 'Optional', 'Added',
                                                    'Modified', 'Removed')}
    kind = None
    for line in (inspect.getdoc(cls) or '').splitlines():
        match = _KEY_LINE.match(line)
        if match:
            kind, text = match.group(1), match.group(2)
        elif kind and line.startswith(' ') and line.strip():
            text = line
        else:
            kind = None
            continue
        keys[kind] |= set(re.findall(r'``(\w+)``', text))
    return keys


def _table_rows(text: str, heading: str) -> list[list[str]]:
    section = text.split(heading, 1)[1]
    rows = []
    for line in section.splitlines()[1:]:
        if line.startswith('#'):
            break
        if line.startswith('|') and not set(line) <= set('|-: '):
            rows.append([cell.strip() for cell in line.strip().strip('|').split('|')])
    return rows[1:]  # without the header


def test_pipeline_keys_table_matches_the_steps() -> None:
    """Tutorial 4's table of required / added / modified keys is what each step declares."""
    from actionkit.datasets import PIPELINES

    text = (DOCS / 'tutorials' / '4_data_pipeline.md').read_text(encoding='utf-8')
    rows = _table_rows(text, '## The keys of each step')
    assert len(rows) >= 20, f'the keys table has only {len(rows)} rows'
    columns = ('Required', 'Optional', 'Added', 'Modified', 'Removed')
    problems = []
    for row in rows:
        name = row[0].strip('`')
        cls = PIPELINES.get(name)
        if cls is None:
            problems.append(f'{name}: not a registered pipeline step')
            continue
        declared = _docstring_keys(cls)
        for column, cell in zip(columns, row[1:]):
            written = set(re.findall(r'`(\w+)`', cell))
            if written != declared[column]:
                problems.append(f'{name} {column}: the table says {sorted(written)}, the step '
                                f'declares {sorted(declared[column])}')
    assert not problems, '\n'.join(problems)


# ------------------------------------------------------------------------- the model zoo table
_ZOO_ROW = re.compile(r'^\|[^|]*\|\s*`(?P<config>configs/[^`]+\.py)`\s*\|[^|]*\|'
                      r'\s*(?P<params>[^|]*?)\s*\|')


def _zoo_rows() -> list[tuple[str, str]]:
    text = (DOCS / 'model_zoo.md').read_text(encoding='utf-8')
    return [(m['config'], m['params']) for m in map(_ZOO_ROW.match, text.splitlines()) if m]


def test_model_zoo_lists_every_architecture() -> None:
    listed = {Path(config).parent.as_posix() for config, _ in _zoo_rows()}
    configs = [*(REPO / 'configs').glob('*/*.py'), *(REPO / 'configs').glob('*/*/*.py')]
    folders = {p.parent.relative_to(REPO).as_posix() for p in configs if '_base_' not in p.parts}
    assert folders - listed == set(), f'model_zoo.md lists no config of {sorted(folders - listed)}'


@pytest.mark.slow
def test_model_zoo_parameter_counts(one_thread: None) -> None:
    """Each row's parameter count is that of the model its config builds (about 25 s)."""
    from actionkit.config import Config
    from actionkit.models import build_model, turn_off_pretrained

    rows = [(config, params) for config, params in _zoo_rows() if params != '—']
    assert len(rows) >= 27
    wrong = []
    for config, params in rows:
        cfg = Config.fromfile(str(REPO / config))
        turn_off_pretrained(cfg.model)
        model = build_model(cfg.model, test_cfg=cfg.get('test_cfg'))
        count = sum(p.numel() for p in model.parameters()) / 1e6
        if f'{count:.2f}' != params:
            wrong.append(f'{config}: the table says {params} M, the model has {count:.2f} M')
        del model
    assert not wrong, '\n'.join(wrong)


# ------------------------------------------------------------------------- the helpers themselves
def test_parse_blocks_reads_directives_and_indented_blocks(tmp_path: Path) -> None:
    from doc_snippets import split_commands

    doc = tmp_path / 'doc.md'
    doc.write_text('\n'.join([
        '# title', '', '<!-- test: run -->', '```bash',
        'python tools/train.py a.py \\', '    --validate  # comment', '# only a comment',
        'CUDA_VISIBLE_DEVICES=-1 python tools/test.py a.py b.pth', '```', '',
        '1. a step', '', '   <!-- test: skip (needs a GPU) -->', '   ```python', '   x = 1',
        '   ```', '', '<!-- test: file cfg/a.py (continued) -->', '```python', 'y = 2', '```',
        '```text', 'plain', '```', '<!-- test: runn -->', '```python', 'z = 3', '```']))
    blocks = parse_blocks(doc)
    assert [(b.line, b.lang, b.action, b.arg) for b in blocks] == [
        (4, 'bash', 'run', ''), (14, 'python', 'skip', 'needs a GPU'),
        (19, 'python', 'append', 'cfg/a.py'), (22, 'text', None, ''), (26, 'python', None, '')]
    assert blocks[1].code == 'x = 1\n' and blocks[4].directive == 'runn'
    assert split_commands(blocks[0].code) == [
        'python tools/train.py a.py      --validate  # comment',
        'CUDA_VISIBLE_DEVICES=-1 python tools/test.py a.py b.pth']
