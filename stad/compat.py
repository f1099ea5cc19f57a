"""Fixes the published OpenMMLab stack needs on a current machine.

Each fix is idempotent and applied by ``import stad`` (see ``stad/__init__.py``), so it
runs in every process that imports the package: the ``stad`` CLI, ``tools/train.py``,
and ``mim train mmaction2|mmdet <config>`` through the configs'
``custom_imports = dict(imports=['stad'])``. Config files are read before any model is
built, so the fixes are in place before the code that needs them.

Fixes (facts in docs/stack.md):

* ``mmaction2 1.2.0``'s wheel lacks ``mmaction/models/localizers/drn/`` yet
  ``mmaction.models.localizers`` imports ``DRN`` from it. We register a placeholder
  module whose ``DRN`` raises a clear error if anyone instantiates it; nothing else of
  mmaction2 is touched and DRN is not added to any registry.
* torch >= 2.6 loads checkpoints with ``weights_only=True``; mmengine 0.10.7 checkpoints
  hold a ``HistoryBuffer`` and numpy arrays/scalars. We keep the safe loader and
  allow-list exactly those globals (:func:`mmengine_checkpoint_globals`), with a narrow
  stand-in for ``getattr`` (:func:`history_buffer_getattr`).
"""
from __future__ import annotations

import importlib.util
import sys
import types

_DRN_MODULES = ('mmaction.models.localizers.drn', 'mmaction.models.localizers.drn.drn')


class _MissingDRN:
    """Stands in for mmaction2's DRN localizer, which its 1.2.0 wheel does not ship."""

    def __init__(self, *args, **kwargs):
        raise ImportError(
            'mmaction2 1.2.0 was published without mmaction/models/localizers/drn; '
            'DRN is unavailable (stad does not use it).')


def patch_mmaction_drn() -> bool:
    """Make ``import mmaction.models`` work without the missing ``drn`` package.

    Returns:
        True if the placeholder was installed, False if the real module exists
        (a fixed mmaction2) or it was already installed.
    """
    if _DRN_MODULES[1] in sys.modules:
        return False
    try:
        if importlib.util.find_spec('mmaction') is None:
            return False
        # find_spec of the subpackage imports its parents (mmaction.models ->
        # localizers -> drn) and would fail on exactly the bug we fix; look for
        # the folder on disk instead.
        import os

        import mmaction
        real = os.path.join(os.path.dirname(mmaction.__file__), 'models', 'localizers',
                            'drn', 'drn.py')
        if os.path.exists(real):
            return False
    except ImportError:
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
    """Apply every fix; cheap and safe to call many times."""
    patch_mmaction_drn()
    allow_mmengine_checkpoints()
