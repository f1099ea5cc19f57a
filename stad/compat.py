"""Fixes the published OpenMMLab stack needs on a current machine.

Each fix is idempotent and installed by ``import stad`` (see ``stad/__init__.py``), so it
is in place in every process that imports the package: the ``stad`` CLI,
``tools/train.py``, and ``mim train mmaction2|mmdet <config>`` through the configs'
``custom_imports = dict(imports=['stad'])``. Config files are read before any model is
built, so the fixes are in place before the code that needs them.

``import stad`` imports none of the stack (``stad --help`` and ``stad check`` run
without torch, mmcv, mmaction2 or mmdet: 0.2 s instead of 3 s): :func:`install` applies
what needs no import now and the rest right after the module it concerns is imported,
by a post-import hook (:class:`_AfterImport`, one entry at the front of
``sys.meta_path``), or at once if that module is imported already.

Fixes (facts in docs/stack.md):

* ``mmaction2 1.2.0``'s wheel lacks ``mmaction/models/localizers/drn/`` yet
  ``mmaction.models.localizers`` imports ``DRN`` from it. We register a placeholder
  module whose ``DRN`` raises a clear error if anyone instantiates it; nothing else of
  mmaction2 is touched and DRN is not added to any registry. Looking for the folder
  needs only mmaction2's location (``find_spec``), not an import: done by ``import stad``.
* torch >= 2.6 loads checkpoints with ``weights_only=True``; mmengine 0.10.7 checkpoints
  hold a ``HistoryBuffer`` and numpy arrays/scalars. We keep the safe loader and
  allow-list exactly those globals (:func:`mmengine_checkpoint_globals`), with a narrow
  stand-in for ``getattr`` (:func:`history_buffer_getattr`): as soon as both torch and
  mmengine's ``HistoryBuffer`` are imported, in either order (after ``import torch``
  without mmengine, mmengine's history buffer is imported for it), and never by
  importing torch itself.
"""
from __future__ import annotations

import importlib.util
import os
import sys
import types
import warnings

_DRN_MODULES = ('mmaction.models.localizers.drn', 'mmaction.models.localizers.drn.drn')


class _MissingDRN:
    """Stands in for mmaction2's DRN localizer, which its 1.2.0 wheel does not ship."""

    def __init__(self, *args, **kwargs):
        raise ImportError(
            'mmaction2 1.2.0 was published without mmaction/models/localizers/drn; '
            'DRN is unavailable (stad does not use it).')


def patch_mmaction_drn() -> bool:
    """Make ``import mmaction.models`` work without the missing ``drn`` package.

    Imports nothing: mmaction2's folder comes from ``importlib.util.find_spec``, and the
    placeholder modules wait in ``sys.modules`` for ``mmaction.models.localizers``.

    Returns:
        True if the placeholder was installed, False if the real module exists
        (a fixed mmaction2), mmaction2 is not installed, or it was already installed.
    """
    if _DRN_MODULES[1] in sys.modules:
        return False
    try:
        spec = importlib.util.find_spec('mmaction')
    except (ImportError, ValueError):
        return False
    if spec is None or not spec.submodule_search_locations:
        return False
    # find_spec of the subpackage imports its parents (mmaction.models ->
    # localizers -> drn) and would fail on exactly the bug we fix; look for
    # the folder on disk instead.
    if any(os.path.exists(os.path.join(folder, 'models', 'localizers', 'drn', 'drn.py'))
           for folder in spec.submodule_search_locations):
        return False
    pkg = types.ModuleType(_DRN_MODULES[0])
    pkg.__path__ = []  # a package, so that `from .drn.drn import DRN` resolves
    mod = types.ModuleType(_DRN_MODULES[1])
    mod.DRN = _MissingDRN
    pkg.drn = mod
    sys.modules[_DRN_MODULES[0]] = pkg
    sys.modules[_DRN_MODULES[1]] = mod
    return True


def history_buffer_getattr(obj, name, *default):
    """Stand-in for ``builtins.getattr`` inside ``torch.load(weights_only=True)``.

    mmengine's ``HistoryBuffer`` pickles its class-level ``_statistics_methods`` as
    ``getattr(HistoryBuffer, 'min')`` etc. Allow-listing the real ``getattr`` would let a
    crafted checkpoint reach any attribute of any allow-listed object, and through
    torch's own allow-listed ``_rebuild_from_type_v2`` (it calls any function it is
    given) ``eval``: tests/test_compat.py builds such a file, which runs ``os.system``
    with the real ``getattr`` allow-listed and fails to load with this one.
    This returns only the statistics methods of ``HistoryBuffer`` and refuses anything
    else before it is looked up.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    # the four built-in statistics (registered into _statistics_methods only when a
    # buffer is first made) and any registered with HistoryBuffer.register_statistics
    allowed = {'min', 'max', 'current', 'mean'} | set(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and not default and isinstance(name, str) and name in allowed:
        return getattr(HistoryBuffer, name)
    import pickle
    raise pickle.UnpicklingError(
        f'refused getattr({getattr(obj, "__name__", type(obj).__name__)}, {name!r}): a '
        'checkpoint may only name the HistoryBuffer statistics mmengine writes')


def mmengine_checkpoint_globals() -> list:
    """The globals that mmengine 0.10.7's ``Runner.save_checkpoint`` pickles.

    ``message_hub`` holds ``HistoryBuffer`` objects whose state is numpy arrays;
    ``meta`` and log scalars hold numpy scalars and dtypes. Everything else a
    checkpoint holds (tensors, OrderedDict, builtins) torch allows already.
    ``builtins.getattr`` is mapped to :func:`history_buffer_getattr`, not allowed.
    """
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer
    try:  # numpy 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy 1
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [type(np.dtype(t)) for t in (
        np.float64, np.float32, np.float16, np.int64, np.int32, np.int16, np.int8,
        np.uint8, np.bool_)]
    return [HistoryBuffer, _reconstruct, scalar, np.ndarray, np.dtype, *dtype_classes,
            (history_buffer_getattr, 'builtins.getattr')]


def allow_mmengine_checkpoints() -> None:
    """Allow-list :func:`mmengine_checkpoint_globals` for ``torch.load(weights_only=True)``."""
    import torch
    if hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals(mmengine_checkpoint_globals())


def apply_all() -> None:
    """Apply every fix now (imports torch and mmengine); cheap and safe to call many times."""
    patch_mmaction_drn()
    allow_mmengine_checkpoints()


# ------------------------------------------------------------- applied after an import

_HISTORY_BUFFER = 'mmengine.logging.history_buffer'


def _after_torch() -> None:
    """torch is imported: allow-list mmengine's checkpoint globals if mmengine's history
    buffer is imported already; else import it for that, unless mmengine is being
    imported (it imports torch on its way; importing more of it here would meet its
    half-initialised package): then :func:`_after_history_buffer` does it."""
    if _HISTORY_BUFFER not in sys.modules and (
            'mmengine' in sys.modules or importlib.util.find_spec('mmengine') is None):
        return
    allow_mmengine_checkpoints()


def _after_history_buffer() -> None:
    """mmengine's ``HistoryBuffer`` exists: allow-list the checkpoint globals if torch is
    imported; if not, :func:`_after_torch` does it when it is (``mmengine.config`` alone,
    as the torch-free runtime reads configs, must not import torch)."""
    if 'torch' in sys.modules:
        allow_mmengine_checkpoints()


#: module -> the fix to apply right after it is imported
AFTER_IMPORT = {'torch': _after_torch, _HISTORY_BUFFER: _after_history_buffer}


class _AfterImport:
    """A ``sys.meta_path`` finder that finds nothing itself: for a module of
    :data:`AFTER_IMPORT` it asks the finders after it and wraps the found loader's
    ``exec_module``, so that the fix runs once the module is executed. A failing fix
    warns and never fails the user's import."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in AFTER_IMPORT:
            return None
        rest = sys.meta_path[sys.meta_path.index(self) + 1:] if self in sys.meta_path else []
        for finder in rest:
            find = getattr(finder, 'find_spec', None)
            spec = find(fullname, path, target) if find else None
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, 'exec_module'):
            return spec
        exec_module = loader.exec_module

        def exec_then_fix(module, exec_module=exec_module, fix=AFTER_IMPORT[fullname]):
            exec_module(module)
            _run_fix(fullname, fix)

        loader.exec_module = exec_then_fix  # this module's loader instance only
        return spec


def _run_fix(name: str, fix) -> None:
    try:
        fix()
    except Exception as e:  # a fix must never break the user's import
        warnings.warn(f'stad.compat: the fix applied after importing {name} failed: '
                      f'{type(e).__name__}: {e}', RuntimeWarning, stacklevel=2)


def install() -> None:
    """What ``import stad`` does: the fixes that need no import at once, the others now
    if their modules are imported already, else right after they are. Idempotent."""
    patch_mmaction_drn()
    if not any(isinstance(f, _AfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport())
    if _HISTORY_BUFFER in sys.modules:
        _run_fix(_HISTORY_BUFFER, _after_history_buffer)
    elif 'torch' in sys.modules:
        _run_fix('torch', _after_torch)
