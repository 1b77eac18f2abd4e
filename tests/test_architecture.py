"""The house drawn from the code matches docs/internals.md ("Parts and what each may import").

Every module's imports are read with ``ast`` (function-level ones included, since a lazy import
is still a dependency) and mapped to the package's parts: its top-level sub-packages and
modules (``models``, ``datasets``, ``utils``, ``cli`` ...).
"""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / 'actionkit'
MAX_LINES = 600
# what knows video files: decoders, encoders, image codecs
VIDEO_LIBRARIES = ('av', 'cv2', 'decord', 'torchcodec', 'torchvision', 'PIL', 'imageio')
# part -> parts it must never import, and why (the why is in docs/internals.md)
FORBIDDEN = {
    'models': {'datasets', 'engine', 'apis', 'analysis', 'export', 'commands', 'cli'},
    'utils': {'datasets', 'models', 'engine', 'apis', 'analysis', 'export', 'evaluation',
              'config', 'visualization', 'commands', 'cli'},
    'config': {'datasets', 'models', 'engine', 'apis', 'analysis', 'export', 'commands', 'cli'},
    'registry': {'datasets', 'models', 'engine', 'apis', 'analysis', 'export', 'commands',
                 'cli'},
    'evaluation': {'datasets', 'models', 'engine', 'apis', 'analysis', 'export', 'commands',
                   'cli'},
}


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob('*.py')):
        parts = path.relative_to(REPO).with_suffix('').parts
        if parts[-1] == '__init__':
            parts = parts[:-1]
        found.append(('.'.join(parts), path))
    return found


def _imports(module: str, path: Path) -> set[str]:
    """The absolute names ``path`` imports (relative imports resolved)."""
    package = module if path.name == '__init__.py' else module.rpartition('.')[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')[:len(package.split('.')) - node.level + 1]
                stem = '.'.join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ''
            names.add(stem)
            # ``from . import x`` / ``from .pkg import mod`` name modules too
            names.update(f'{stem}.{alias.name}' for alias in node.names if alias.name != '*')
    return names


def _part(module: str) -> str | None:
    parts = module.split('.')
    if parts[0] != 'actionkit':
        return None
    return parts[1] if len(parts) > 1 else 'actionkit'


def _graph() -> dict[str, dict[str, set[str]]]:
    """part -> imported part -> the modules of ``part`` that import it."""
    graph: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    known = {_part(m) for m, _ in _modules()}
    for module, path in _modules():
        source = _part(module)
        for name in _imports(module, path):
            target = _part(name)
            if target is not None and target != source and target in known:
                graph[source][target].add(module)
    return graph


MODULES = _modules()
GRAPH = _graph()


def test_the_imports_are_read():
    # a plausible bug in the resolver (relative levels) would empty the graph
    assert 'models' in GRAPH['engine'] and 'utils' in GRAPH['datasets']
    assert 'actionkit.datasets.builder' in GRAPH['datasets']['registry']


@pytest.mark.parametrize('part', sorted(FORBIDDEN))
def test_parts_do_not_import_what_they_must_not(part):
    bad = {target: sorted(modules) for target, modules in GRAPH[part].items()
           if target in FORBIDDEN[part]}
    assert not bad, f'{part} imports {bad} (see docs/internals.md)'


def test_nothing_imports_the_commands():
    """Command lines sit on top: cli.py loads them by name (importlib), tools/ call them."""
    bad = {source: sorted(targets['commands']) for source, targets in GRAPH.items()
           if 'commands' in targets and source != 'commands'}
    assert not bad, f'imports of actionkit.commands: {bad}'


def test_utils_knows_nothing_of_video():
    bad = {}
    for module, path in MODULES:
        if _part(module) != 'utils':
            continue
        video = sorted(name for name in _imports(module, path)
                       if name.split('.')[0] in VIDEO_LIBRARIES)
        if video:
            bad[module] = video
    assert not bad, f'utils imports video libraries: {bad}'


def test_no_cycle_between_parts():
    edges = {source: set(targets) for source, targets in GRAPH.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)) is not None:
            detail = {f'{a}->{b}': sorted(GRAPH[a][b]) for a, b in zip(cycle, cycle[1:])}
            pytest.fail(f'parts import each other in a cycle {" -> ".join(cycle)}: {detail}')


def test_no_file_over_the_line_limit():
    long = {str(path.relative_to(REPO)): n for _, path in MODULES
            if (n := len(path.read_text(encoding='utf-8').splitlines())) > MAX_LINES}
    assert not long, f'files over {MAX_LINES} lines (split them along a seam): {long}'


def test_config_package_imports_no_private_name_across_its_files():
    bad = []
    for module, path in MODULES:
        if not module.startswith('actionkit.config'):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
            if isinstance(node, ast.ImportFrom) and node.level:
                bad += [f'{module}: {alias.name}' for alias in node.names
                        if alias.name.startswith('_')]
    assert not bad, bad
