"""Find the code blocks of the Markdown docs and run them, in a sandbox folder.

The convention (also described at the top of ``test_docs.py``): a fenced code block is
preceded by an HTML comment that says what the tests do with it::

    <!-- test: run -->            run it (python: exec; bash: each command)
    <!-- test: file PATH -->      write its text to PATH (a config, a module, a list ...)
    <!-- test: file PATH (continued) -->   append its text to PATH
    <!-- test: skip (REASON) -->  leave it alone; the reason is required

Every ``python``, ``bash``, ``shell`` and ``sh`` block must carry one of them; other blocks
(``text`` and untagged ones) are for reading only. The blocks of one document run in order, in
one sandbox folder, and its Python blocks share one namespace, like the cells of a notebook.

Bash commands ``python SCRIPT ...``, ``python -m MODULE ...``, ``python -c CODE`` and
``actionkit ...`` run inside the test process (as ``__main__``, with ``sys.argv``,
``sys.path[0]``, ``PYTHONPATH`` and the ``VAR=value`` prefixes of the command set as a new
interpreter would set them), which saves the few seconds each interpreter takes to import
torch. Each such command starts from what a new interpreter would have: the modules the
documents wrote into the sandbox are not imported yet, and the registries hold only the
package's own entries. What the command changes in the process (environment, ``sys.path``,
logging handlers, registry entries, imported sandbox modules) is undone afterwards. Other
commands run with ``bash -c`` in the sandbox.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import runpy
import shlex
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ['Block', 'CHECKED_LANGUAGES', 'CommandError', 'DocRunner', 'parse_blocks',
           'split_commands', 'registries', 'snapshot_registries', 'restore_registries',
           'sandbox_modules']

CHECKED_LANGUAGES = ('python', 'bash', 'shell', 'sh')
_FENCE = re.compile(r'^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$')
_DIRECTIVE = re.compile(r'^\s*<!--\s*test:\s*(?P<body>.*?)\s*-->\s*$')
_SKIP = re.compile(r'^skip\s*\((?P<reason>[^)]*\S[^)]*)\)$')
_FILE = re.compile(r'^file\s+(?P<path>\S+)(?P<append>\s+\(continued\))?$')


@dataclass
class Block:
    """One fenced code block of a Markdown file."""

    doc: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    action: str | None  # 'run', 'file', 'append', 'skip', or None when unmarked
    arg: str = ''  # the path of 'file' / 'append', the reason of 'skip'
    directive: str | None = None  # the directive text as written

    @property
    def where(self) -> str:
        return f'{self.doc.name}:{self.line}'


def _parse_directive(body: str) -> tuple[str | None, str]:
    if body == 'run':
        return 'run', ''
    match = _FILE.match(body)
    if match:
        return ('append' if match['append'] else 'file'), match['path']
    match = _SKIP.match(body)
    if match:
        return 'skip', match['reason'].strip()
    return None, ''


def parse_blocks(path: Path) -> list[Block]:
    """The fenced code blocks of ``path``, with the directive on the line before each."""
    lines = path.read_text(encoding='utf-8').splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, fence = match['indent'], match['fence']
        lang = match['info'].strip().split(' ')[0].lower() if match['info'].strip() else ''
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and not (lines[i].strip().startswith(fence)
                                      and lines[i].strip().strip(fence[0]) == ''):
            text = lines[i]
            body.append(text[len(indent):] if text.startswith(indent) else text.lstrip())
            i += 1
        i += 1  # the closing fence
        prev = start - 1
        while prev >= 0 and not lines[prev].strip():
            prev -= 1
        directive = None
        action, arg = None, ''
        if prev >= 0:
            found = _DIRECTIVE.match(lines[prev])
            if found:
                directive = found['body']
                action, arg = _parse_directive(directive)
        blocks.append(Block(path, start + 1, lang, '\n'.join(body) + '\n', action, arg,
                            directive))
    return blocks


def split_commands(code: str) -> list[str]:
    """The commands of a bash block: continuation lines joined, comments and blanks dropped."""
    commands, current = [], ''
    for raw in code.splitlines():
        line = raw.rstrip()
        if line.endswith('\\'):
            current += line[:-1] + ' '
            continue
        current += line
        tokens = shlex.split(current, comments=True)
        if tokens:
            commands.append(current.strip())
        current = ''
    if current.strip():
        commands.append(current.strip())
    return commands


class CommandError(AssertionError):
    """A documented command failed."""


@contextlib.contextmanager
def _restored_process_state() -> Iterator[None]:
    """Undo what an in-process script changes: argv, path, environment, cwd, logging."""
    saved_argv, saved_path = list(sys.argv), list(sys.path)
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    loggers = [logging.getLogger(), logging.getLogger('actionkit')]
    saved_logging = [(lg, list(lg.handlers), lg.level, lg.propagate, lg.disabled)
                     for lg in loggers]
    try:
        import cv2
        cv2_threads = cv2.getNumThreads()
    except ImportError:  # pragma: no cover - OpenCV is a dependency
        cv2 = None
    try:
        yield
    finally:
        sys.argv[:] = saved_argv
        sys.path[:] = saved_path
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
        for lg, handlers, level, propagate, disabled in saved_logging:
            for handler in lg.handlers:
                if handler not in handlers:
                    handler.close()
            lg.handlers[:] = handlers
            lg.setLevel(level)
            lg.propagate, lg.disabled = propagate, disabled
        if cv2 is not None:
            cv2.setNumThreads(cv2_threads)


def registries() -> list:
    """Every registry of actionkit (models, datasets, pipelines, optimizers, hooks)."""
    from actionkit.datasets import builder as data_builder
    from actionkit.engine import hooks, optim
    from actionkit.models import builder as model_builder
    from actionkit.registry import Registry

    return [value for module in (model_builder, data_builder, optim, hooks)
            for value in vars(module).values() if isinstance(value, Registry)]


def snapshot_registries() -> list[tuple]:
    return [(registry, dict(registry.module_dict)) for registry in registries()]


def restore_registries(snapshot: list[tuple]) -> None:
    for registry, entries in snapshot:
        registry.module_dict.clear()
        registry.module_dict.update(entries)


def sandbox_modules(sandbox: Path) -> dict:
    """The imported modules whose files lie in ``sandbox`` (the documents' own modules)."""
    root = str(sandbox.resolve())
    return {name: module for name, module in sys.modules.items()
            if str(getattr(module, '__file__', None) or '').startswith(root)}


@contextlib.contextmanager
def _as_new_interpreter(sandbox: Path, baseline: list[tuple]) -> Iterator[None]:
    """Registries and sandbox modules as a new interpreter has them, restored afterwards."""
    saved_registries = snapshot_registries()
    saved_modules = sandbox_modules(sandbox)
    for name in saved_modules:
        del sys.modules[name]
    restore_registries(baseline)
    try:
        yield
    finally:
        for name in sandbox_modules(sandbox):
            del sys.modules[name]
        sys.modules.update(saved_modules)
        restore_registries(saved_registries)


def _exit_code(err: SystemExit) -> int:
    if err.code is None:
        return 0
    return err.code if isinstance(err.code, int) else 1


class DocRunner:
    """Runs the blocks of one document in ``sandbox``.

    Args:
        sandbox: the folder the blocks run in (their current directory), laid out like the
            repository root.
    """

    def __init__(self, sandbox: Path) -> None:
        self.sandbox = sandbox
        self.namespace: dict = {'__name__': '__doc_snippet__'}
        self.env: dict[str, str] = {}  # variables exported by earlier bash commands
        self.log: list[str] = []
        self.baseline = snapshot_registries()  # what a new interpreter registers

    # ------------------------------------------------------------------ blocks
    def run_block(self, block: Block) -> None:
        if block.action in ('file', 'append'):
            target = self.sandbox / block.arg
            if block.action == 'append' and not target.is_file():
                raise FileNotFoundError(f'{block.where}: "file {block.arg} (continued)" but no '
                                        'earlier block wrote that file')
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, 'a' if block.action == 'append' else 'w', encoding='utf-8') as f:
                f.write(('\n\n' if block.action == 'append' else '') + block.code)
        elif block.action == 'run':
            if block.lang == 'python':
                self._run_python_block(block)
            elif block.lang in ('bash', 'shell', 'sh'):
                for command in split_commands(block.code):
                    self.run_command(command, block)
            else:
                raise ValueError(f'{block.where}: cannot run a {block.lang or "plain"} block')

    def _run_python_block(self, block: Block) -> None:
        code = compile(block.code, f'{block.doc.name}:{block.line}', 'exec')
        with _restored_process_state():
            os.chdir(self.sandbox)
            sys.path.insert(0, str(self.sandbox))
            exec(code, self.namespace)  # noqa: S102 - the docs' own snippets

    # ------------------------------------------------------------------ commands
    def run_command(self, command: str, block: Block) -> None:
        tokens = shlex.split(command, comments=True)
        env: dict[str, str] = {}
        while tokens and re.match(r'^[A-Za-z_][A-Za-z0-9_]*=', tokens[0]):
            key, _, value = tokens.pop(0).partition('=')
            env[key] = value
        if not tokens:
            self.env.update(env)
            return
        if tokens[0] == 'export':
            for item in tokens[1:]:
                key, _, value = item.partition('=')
                self.env[key] = value
            return
        self.log.append(f'$ {command}')
        if tokens[0] == 'python' and len(tokens) > 1:
            code = self._run_python(tokens[1:], env)
        elif tokens[0] == 'actionkit':
            code = self._run_python(['-m', 'actionkit.cli', *tokens[1:]], env)
        else:
            full_env = {**os.environ, **self.env, **env}
            proc = subprocess.run(['bash', '-c', command], cwd=self.sandbox, env=full_env,
                                  capture_output=True, text=True, timeout=300)
            self.log.append(proc.stdout + proc.stderr)
            code = proc.returncode
        if code != 0:
            raise CommandError(f'{block.where}: `{command}` exited with {code}\n'
                               + '\n'.join(self.log[-10:]))

    def _run_python(self, args: list[str], env: dict[str, str]) -> int:
        """``python ARGS`` in this process, set up as a fresh interpreter would be."""
        variables = {**self.env, **env}
        stdout = io.StringIO()
        with _restored_process_state(), _as_new_interpreter(self.sandbox, self.baseline):
            os.chdir(self.sandbox)
            os.environ.update(variables)
            extra_path = [str((self.sandbox / p).resolve())
                          for p in variables.get('PYTHONPATH', '').split(os.pathsep) if p]
            # a new interpreter does not have the documents' sandbox on sys.path
            base_path = [p for p in sys.path if p not in ('', str(self.sandbox))]
            try:
                with contextlib.redirect_stdout(stdout):
                    _launch(args, self.sandbox, [*extra_path, *base_path])
                code = 0
            except SystemExit as err:
                code = _exit_code(err)
            finally:
                self.log.append(stdout.getvalue())
        return code


def _launch(args: list[str], cwd: Path, path: list[str]) -> None:
    """Run ``python ARGS`` as ``__main__``; ``path`` is ``sys.path`` after its first entry."""
    if args[0] == '-c':
        sys.argv = ['-c', *args[2:]]
        sys.path[:] = ['', *path]
        exec(compile(args[1], '<-c>', 'exec'), {'__name__': '__main__'})  # noqa: S102
    elif args[0] == '-m':
        sys.argv = [args[1], *args[2:]]
        sys.path[:] = [str(cwd), *path]
        with warnings.catch_warnings():
            # a new interpreter would not have imported the module yet
            warnings.filterwarnings('ignore', '.*found in sys.modules after', RuntimeWarning)
            runpy.run_module(args[1], run_name='__main__', alter_sys=True)
    else:
        script = (cwd / args[0]).resolve()
        sys.argv = [args[0], *args[1:]]
        sys.path[:] = [str(script.parent), *path]
        runpy.run_path(str(script), run_name='__main__')
