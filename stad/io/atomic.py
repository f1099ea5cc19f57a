"""Atomic file output: write to a temp file in the target folder, then rename."""
from __future__ import annotations

import contextlib
import os
import pickle
import re
import tempfile
from typing import Any, Iterator

from stad.errors import StadError


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # runs, as another user
    except (OverflowError, OSError):
        return True  # not a PID this machine can have: leave the file alone
    return True


def remove_stale_temps(folder: str, base: str, ext: str) -> list[str]:
    """Remove :func:`atomic_path`'s temps of ``<folder>/<base><ext>`` left by processes
    that no longer run; returns the paths removed.

    Only names of exactly ``.<base>.<pid>.<random>.tmp<ext>`` count (not those of another
    output whose name starts with ``base``); temps of running processes (this one
    included) are kept. PIDs are this machine's: a folder shared with another machine
    could lose a temp that machine is writing.
    """
    pattern = re.compile(rf'\.{re.escape(base)}\.([0-9]+)\.[a-z0-9_]+\.tmp{re.escape(ext)}')
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    removed = []
    for name in names:
        m = pattern.fullmatch(name)
        if not m or int(m.group(1)) <= 0 or _pid_running(int(m.group(1))):
            continue
        stale = os.path.join(folder, name)
        try:
            if os.path.isfile(stale) and not os.path.islink(stale):
                os.remove(stale)
                removed.append(stale)
        except OSError:
            pass  # removed by another writer meanwhile, or not ours to remove
    return removed


class AtomicWriteError(StadError, OSError):
    """Writing an output failed (disk full, file-size limit, no permission, ...).

    A :class:`StadError` (the CLI prints it as one line, naming the file) that is also
    an :class:`OSError`, so callers that catch ``OSError`` around a write still do.
    """


def _write_error(path: str, e: OSError) -> AtomicWriteError:
    reason = e.strerror or str(e) or type(e).__name__
    return AtomicWriteError(f'cannot write {path}: {reason}')


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield a temp path next to ``path``; rename it to ``path`` only if the block succeeds.

    A crash or error leaves no partial ``path`` behind (and no temp file). The temp is
    ``.<base>.<pid>.<random>.tmp<ext>``, ``pid`` the writing process's: a process that is
    killed cannot remove its temp, so temps of ``path`` whose process no longer runs are
    removed (:func:`remove_stale_temps`) before a new one is made.

    Raises:
        AtomicWriteError: (a :class:`StadError`) creating the folder or temp file,
            writing the temp file (an ``OSError`` of the block about no other file:
            disk full, ``EFBIG`` under a file-size limit, ...) or the rename failed;
            one line naming ``path``.
    """
    folder = os.path.dirname(os.path.abspath(path))
    base, ext = os.path.splitext(os.path.basename(path))
    try:
        os.makedirs(folder, exist_ok=True)
        remove_stale_temps(folder, base, ext)
        fd, tmp = tempfile.mkstemp(prefix=f'.{base}.{os.getpid()}.', suffix=f'.tmp{ext}',
                                   dir=folder)
    except OSError as e:
        raise _write_error(path, e) from e
    try:
        os.close(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; outputs get the usual mode
        try:
            yield tmp
        except StadError:
            raise
        except OSError as e:
            # an error about another file (an input the block reads) is not ours to word
            if e.filename not in (None, tmp, path):
                raise
            raise _write_error(path, e) from e
        try:
            os.replace(tmp, path)
        except OSError as e:
            raise _write_error(path, e) from e
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_write_text(path: str, text: str) -> None:
    with atomic_path(path) as tmp, open(tmp, 'w') as f:
        f.write(text)


def atomic_dump_pickle(obj: Any, path: str) -> None:
    with atomic_path(path) as tmp, open(tmp, 'wb') as f:
        pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)


def check_writable(out: str) -> None:
    """Refuse, before any work, an output path that could not be written at the end: a
    directory, or in a folder that cannot be created or written. Nothing is created.

    Raises:
        StadError: one line naming ``out``.
    """
    if os.path.isdir(out):
        raise StadError(f'{out}: output is a directory')
    folder = os.path.dirname(os.path.abspath(out))
    existing = folder
    while not os.path.exists(existing):  # the nearest folder that exists
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise StadError(f'{out}: cannot create the output folder {folder} '
                        f'({existing} is not a folder)')
    if not os.access(existing, os.W_OK | os.X_OK):
        what = 'output folder' if existing == folder else 'folder'
        raise StadError(f'{out}: cannot write the {what} {existing} (permission denied)')


def savefig_atomic(fig, path: str) -> None:
    """Save a matplotlib figure as PNG to ``path`` atomically."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format='png')


@contextlib.contextmanager
def atomic_folder(out: str, *, overwrite: bool = False) -> Iterator[str]:
    """Yield a temp folder ``<out>.<pid>.tmp``; it replaces ``out`` only if the block
    succeeds (else it is removed), so a dataset or export folder is all there or not.

    Raises:
        StadError: ``out`` exists and is not an empty folder (without ``overwrite``; checked
            before the block runs), or the folder cannot be written (one line).
    """
    import shutil
    out = os.path.abspath(out)
    if os.path.exists(out) and not (os.path.isdir(out) and not os.listdir(out)) \
            and not overwrite:
        raise StadError(f'{out} exists and is not empty (pass --overwrite to replace it)')
    tmp = f'{out}.{os.getpid()}.tmp'
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        os.makedirs(tmp)
        yield tmp
        if os.path.isdir(out):
            shutil.rmtree(out)
        elif os.path.exists(out):
            os.remove(out)
        os.replace(tmp, out)
    except OSError as e:
        raise StadError(f'cannot write {out}: {e.strerror or e}') from e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def link_or_copy(src: str, dst: str) -> None:
    """Hard-link ``src`` to ``dst`` (a video is not copied twice), or copy it where links
    are not possible (another file system); makes ``dst``'s folder."""
    import shutil
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
