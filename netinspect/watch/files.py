"""Which files a run depends on, and whether any of them changed (polling ``os.stat``).

A file is *local* (the user's, watched and imported fresh each run) unless it belongs to an
installed library: the standard library, site-packages / dist-packages, or netinspect itself.
Polling a handful of files every 50 ms costs microseconds and needs no dependency; it also
sees editors that save by writing a new file and renaming it over the old one.
"""

from __future__ import annotations

import os
import site
import sysconfig
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from types import ModuleType, TracebackType

# (mtime_ns, ctime_ns, size, inode); None: the file is missing (mid-save, or deleted).
Stamp = tuple[int, int, int, int] | None


@cache
def _library_roots() -> tuple[str, ...]:
    roots = {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots.update(site.getsitepackages() if hasattr(site, "getsitepackages") else ())
    roots.add(site.getusersitepackages())
    roots.add(str(Path(__file__).resolve().parents[1]))  # netinspect: preloaded, never user code
    return tuple(sorted(os.path.realpath(r) + os.sep for r in roots if r))


def is_local_file(path: str) -> bool:
    """True for a file of the user's (not the standard library, an installed package or
    netinspect)."""
    real = os.path.realpath(path)
    if not os.path.isfile(real):
        return False
    parts = real.split(os.sep)
    if "site-packages" in parts or "dist-packages" in parts:
        return False
    return not real.startswith(_library_roots())


def module_file(module: ModuleType) -> str | None:
    file = getattr(module, "__file__", None)
    return file if isinstance(file, str) else None


def split_new_modules(
    modules: Mapping[str, ModuleType], before: Iterable[str]
) -> tuple[list[str], list[str]]:
    """The modules imported since ``before``: (local files, names of library modules)."""
    known = set(before)
    local: list[str] = []
    library: list[str] = []
    for name, module in list(modules.items()):
        if name in known or module is None:
            continue
        file = module_file(module)
        if file is not None and is_local_file(file):
            local.append(os.path.realpath(file))
        elif not name.startswith("_netinspect_user_"):
            library.append(name)
    return local, library


def traceback_files(exc: BaseException | None) -> list[str]:
    """Local files named by a failure: a SyntaxError's file and every frame of the traceback
    (a sibling module that failed to import is no longer in ``sys.modules``)."""
    files: list[str] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, SyntaxError) and exc.filename:
            files.append(exc.filename)
        tb: TracebackType | None = exc.__traceback__
        while tb is not None:
            files.append(tb.tb_frame.f_code.co_filename)
            tb = tb.tb_next
        exc = exc.__cause__ or exc.__context__
    return [os.path.realpath(f) for f in dict.fromkeys(files) if is_local_file(f)]


def stamp(path: str) -> Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)


def stamps(paths: Iterable[str]) -> dict[str, Stamp]:
    return {path: stamp(path) for path in paths}


def changed_files(old: Mapping[str, Stamp]) -> list[str]:
    """The files of ``old`` whose stamp differs now (written, replaced, deleted, recreated)."""
    return [path for path, before in old.items() if stamp(path) != before]


def display_path(path: str) -> str:
    """Relative to the current directory when that is shorter."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return relative if len(relative) < len(path) else path
