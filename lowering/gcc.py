"""The one C compiler driver: C text -> a cached shared library or program, loaded or run.

`find_compiler` looks for ``gcc``, else ``cc``, on PATH; `build` takes another
compiler command instead (a cross compiler, ``python -m ziglang cc``). `build` writes the
sources into a private folder inside its cache subfolder, compiles them there
and renames the result into place, so a concurrent process sees either no file
or the whole file. The file name is a hash of everything that affects the
output (source and header texts, extra source files, the headers under the
include folders, flags, defines, libraries and the compiler's identity), so a
second build of the same input is a lookup without a compiler call. A rejected
source becomes one `CompileError` naming the file and line.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Mapping, Sequence

from gemmini.errors import AutocompError
from lowering.cache import cache_dir

SHARED = "shared"
PROGRAM = "program"
COMPILERS = ("gcc", "cc")
KEY_FORMAT = "autocomp-gcc 1"

_DIAGNOSTIC = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?:(?P<col>\d+):)?\s*"
                         r"(?:fatal )?error:\s*(?P<msg>.*)$", re.M)


class CompileError(AutocompError):
    """No C compiler was found, or it rejected the C."""


class ProgramError(AutocompError):
    """A built program failed or timed out when run."""


def find_compiler() -> str:
    """Path of ``gcc``, else ``cc``; `CompileError` if neither is on PATH."""
    for name in COMPILERS:
        path = shutil.which(name)
        if path:
            return path
    raise CompileError(f"no C compiler found: looked for {' and '.join(COMPILERS)} on PATH "
                       "(install gcc)")


def compiler_identity(compiler: str | Sequence[str]) -> str:
    """The compiler command (its program's resolved path) and its ``--version`` line
    (part of every cache key)."""
    cmd = (compiler,) if isinstance(compiler, str) else tuple(compiler)
    real = os.path.realpath(cmd[0])
    return _identity((real, *cmd[1:]), os.stat(real).st_mtime_ns)


@lru_cache(maxsize=8)
def _identity(cmd: tuple[str, ...], _mtime_ns: int) -> str:
    try:
        proc = subprocess.run([*cmd, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise CompileError(f"cannot run the C compiler {' '.join(cmd)}: {e}") from None
    lines = proc.stdout.splitlines()
    return f"{' '.join(cmd)}\n{lines[0] if lines else ''}"


def _headers_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.h") if p.is_file())


def _build_key(compiler: Sequence[str], kind: str, sources: Mapping[str, str], headers: Mapping[str, str],
              files: Sequence[Path], include_dirs: Sequence[Path], defines: Mapping[str, object],
              flags: Sequence[str], libs: Sequence[str]) -> str:
    """Hash of everything that affects a build's output."""
    h = hashlib.sha256()

    def feed(*parts) -> None:
        for part in parts:
            h.update(part if isinstance(part, bytes) else str(part).encode())
            h.update(b"\0")

    feed(KEY_FORMAT, compiler_identity(compiler), kind, *flags, "defines",
         *(f"{k}={v}" for k, v in sorted(defines.items())), "libs", *libs)
    for name, text in sources.items():
        feed("source", name, text)
    for name, text in sorted(headers.items()):
        feed("header", name, text)
    for path in files:
        feed("file", path, Path(path).read_bytes())
    for folder in include_dirs:
        feed("include", folder)
        for header in _headers_under(Path(folder)):
            feed(header.relative_to(folder), header.read_bytes())
    return h.hexdigest()


def build(sources: Mapping[str, str], *, cache: str, kind: str = SHARED, stem: str = "lib",
          headers: Mapping[str, str] | None = None, files: Sequence[Path] = (),
          include_dirs: Sequence[Path] = (), defines: Mapping[str, object] | None = None,
          flags: Sequence[str] = (), libs: Sequence[str] = (),
          timeout: float | None = None, compiler: Sequence[str] | None = None,
          env: Mapping[str, str] | None = None) -> Path:
    """Compile C given as text into a cached shared library or program; return its path.

    ``sources`` (file name -> C text) are compiled, ``headers`` (relative path ->
    text) written next to them, ``files`` (existing C files) compiled too;
    ``include_dirs`` follow the build folder on the include path. The result lives
    in ``cache_dir(cache)``. ``compiler`` is the compiler command (default:
    `find_compiler`), ``env`` extra environment variables for it. Raises
    `CompileError` naming the file and line.
    """
    if kind not in (SHARED, PROGRAM):
        raise ValueError(f"unknown build kind {kind!r}; known: {SHARED}, {PROGRAM}")
    headers = dict(headers or {})
    defines = dict(defines or {})
    command = (find_compiler(),) if compiler is None else tuple(compiler)
    key = _build_key(command, kind, sources, headers, files, include_dirs, defines, flags, libs)
    folder = cache_dir(cache)
    target = folder / f"{stem}-{key[:32]}{'.so' if kind == SHARED else ''}"
    if target.exists():
        return target
    compiler_name = " ".join([Path(command[0]).name, *command[1:]])
    with tempfile.TemporaryDirectory(dir=folder, prefix=".build-") as tmp:
        work = Path(tmp)
        for name, text in {**headers, **sources}.items():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            (work / name).write_text(text)
        out = "out.so" if kind == SHARED else "out"
        cmd = [*command, *flags, *(f"-D{k}" if v is None else f"-D{k}={v}"
                                   for k, v in defines.items()),
               f"-I{work}", *(f"-I{d}" for d in include_dirs),
               *(("-shared", "-fPIC") if kind == SHARED else ()), "-o", out,
               *sources, *map(str, files), *(f"-l{lib}" for lib in libs)]
        try:
            proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True,
                                  timeout=timeout,
                                  env={**os.environ, **(env or {}), "LC_ALL": "C"})
        except subprocess.TimeoutExpired:
            raise CompileError(f"{compiler_name} took longer than {timeout} s on "
                               f"{', '.join(sources)}") from None
        if proc.returncode != 0:
            raise _compile_error(proc.stderr, compiler_name, work,
                                 {**headers, **sources}, next(iter(sources), None))
        os.replace(work / out, target)
    return target


def _compile_error(stderr: str, compiler: str, work: Path, texts: Mapping[str, str],
                   default_file: str | None) -> CompileError:
    """One `CompileError` from the compiler's messages: the first error, its file and line."""
    errors = list(_DIAGNOSTIC.finditer(stderr))
    if not errors:
        lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
        first = next((ln for ln in lines if "error" in ln or "undefined" in ln),
                     lines[0] if lines else "no message")
        return CompileError(f"{compiler} failed: {first}", filename=default_file)
    m = errors[0]
    name = m.group("file")
    prefix = str(work) + os.sep
    if name.startswith(prefix):
        name = name[len(prefix):]
    line = int(m.group("line"))
    message = f"{compiler}: {m.group('msg')}"
    text = texts.get(name)
    if text is not None and 0 < line <= len(text.splitlines()):
        message += f"\n    {text.splitlines()[line - 1].strip()}"
    if len(errors) > 1:
        message += f"\n({len(errors) - 1} more error{'s' if len(errors) > 2 else ''})"
    column = int(m.group("col")) if m.group("col") else None
    return CompileError(message, filename=name, line=line, column=column)


def load_library(path: Path | str) -> ctypes.CDLL:
    """The shared library at ``path``, loaded once per process."""
    return _load(str(path))


@lru_cache(maxsize=64)
def _load(path: str) -> ctypes.CDLL:
    return ctypes.CDLL(path)


def run_program(path: Path, args: Sequence[str] = (), *, timeout: float | None = None) -> str:
    """Run a built program; its standard output. `ProgramError` if it fails or times out."""
    try:
        proc = subprocess.run([str(path), *args], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ProgramError(f"{Path(path).name} took longer than {timeout} s") from None
    if proc.returncode != 0:
        raise ProgramError(f"{Path(path).name} exited with status {proc.returncode}: "
                           f"{proc.stderr.strip()[-2000:]}")
    return proc.stdout
