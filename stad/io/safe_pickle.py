"""The one loader for every pickle stad reads: ground truth, proposals, detections,
caches and mmaction2 result dumps.

It builds only plain containers (dict, list, tuple, set, str, bytes, numbers, None,
``collections.OrderedDict``) and numpy arrays / dtypes / scalars; with ``torch=True``
also tensors, through torch's own rebuild functions (what ``mim test mmaction2 --dump``
writes). Any other global (a pickle that would call ``os.system`` through
``__reduce__``, say) is refused with a :class:`StadError` naming the file and the
global, before anything of it runs. Protocol <= 2 pickles (Python 2 era MultiSports
files) name builtins ``__builtin__.X`` and store numpy buffers through
``_codecs.encode``; both are accepted (``_codecs.encode`` only builds bytes).
"""
from __future__ import annotations

import _compat_pickle
import functools
import importlib.util
import io
import os
import pickle
from typing import Any

from stad.errors import StadError
from stad.io.checkpoint import one_line

_NUMPY_GLOBALS = {
    ('numpy', 'ndarray'), ('numpy', 'dtype'),
    ('numpy.core.multiarray', '_reconstruct'), ('numpy.core.multiarray', 'scalar'),
    ('numpy._core.multiarray', '_reconstruct'), ('numpy._core.multiarray', 'scalar'),
    ('numpy.core.numeric', '_frombuffer'), ('numpy._core.numeric', '_frombuffer'),
}
_PLAIN_GLOBALS = {
    ('builtins', 'dict'), ('builtins', 'list'), ('builtins', 'tuple'), ('builtins', 'str'),
    ('builtins', 'bytes'), ('builtins', 'int'), ('builtins', 'float'), ('builtins', 'bool'),
    ('builtins', 'set'), ('builtins', 'frozenset'), ('builtins', 'complex'),
    ('collections', 'OrderedDict'), ('_codecs', 'encode'),
}
ALLOWED_GLOBALS = frozenset(_NUMPY_GLOBALS | _PLAIN_GLOBALS)
# numpy dtype classes (numpy.dtypes.Float32DType, ...) that numpy 2 pickles name
_NUMPY_DTYPE_MODULE = 'numpy.dtypes'
# What pickling a CPU tensor writes (``Tensor.__reduce_ex__``: the rebuild function, its
# storage as ``torch.storage._load_from_bytes(bytes)``, backward hooks as an OrderedDict)
# and plain torch values a result may hold (sizes, devices, dtypes). Nothing here runs
# code: ``_load_from_bytes`` itself would (``torch.load(weights_only=False)``), so it is
# resolved to :func:`_load_storage_from_bytes`. Not allowed: ``_rebuild_from_type_v2``
# (calls any function it is given), parameters and legacy storage classes (a dump holds
# neither; storages arrive inside the bytes, which torch's own safe loader reads).
_TORCH_GLOBALS = frozenset({
    ('torch._utils', '_rebuild_tensor_v2'), ('torch.storage', '_load_from_bytes'),
    ('torch', 'Size'), ('torch', 'device'),
    ('torch', 'float16'), ('torch', 'float32'), ('torch', 'float64'), ('torch', 'int32'),
    ('torch', 'int64'), ('torch', 'uint8'), ('torch', 'bool'),
})


class UnsafePickleError(StadError):
    """The pickle names a global stad does not allow (it would build or run code)."""


def _load_storage_from_bytes(data: bytes, source: str = '<bytes>'):
    """Safe stand-in for ``torch.storage._load_from_bytes`` (which calls
    ``torch.load(weights_only=False)``): the same bytes (a storage in torch's legacy
    format) through torch's weights-only loader, onto the CPU (``DumpResults`` moved
    them there; a CUDA storage would not load on a CPU machine).

    Raises:
        UnsafePickleError: the bytes name a global torch's safe loader refuses.
        StadError: the bytes are not a storage torch can read.
    """
    import torch

    from stad.io.checkpoint import weights_only_refusal
    try:
        return torch.load(io.BytesIO(data), map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as e:
        name, reason = weights_only_refusal(e)
        raise UnsafePickleError(
            f'{source}: refused to load a tensor storage naming {name or reason} (the '
            'safe torch loader allows tensors and plain containers only)') from None
    except Exception as e:
        raise StadError(f'{source}: not a readable tensor storage ({type(e).__name__}: '
                        f'{one_line(e)})') from None


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that resolves only :data:`ALLOWED_GLOBALS` (and, with
    ``torch=True``, tensor rebuilding); ``source`` names the file in errors."""

    def __init__(self, file, source: str, *, torch: bool = False):
        super().__init__(file, encoding='latin1')
        self._source = source
        self._torch = torch

    def find_class(self, module: str, name: str):
        # Python 2 names (protocol <= 2 pickles): __builtin__.set -> builtins.set; no
        # Python 3 pickle uses these module names
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
        key = (module, name)
        if self._torch and key in _TORCH_GLOBALS:
            if key == ('torch.storage', '_load_from_bytes'):
                return functools.partial(_load_storage_from_bytes, source=self._source)
            return super().find_class(module, name)
        if key not in ALLOWED_GLOBALS and not (
                module == _NUMPY_DTYPE_MODULE and name.endswith('DType')):
            raise UnsafePickleError(f'{self._source}: refused to load global {module}.{name} '
                            '(stad reads only plain containers and numpy arrays from '
                            'pickles; this one tries to build or run other objects)')
        if module.startswith('numpy.core.'):  # numpy 1 pickles under numpy 2
            module = 'numpy._core.' + module[len('numpy.core.'):]
            if not _has_module(module):
                module = 'numpy.core.' + module[len('numpy._core.'):]
        return super().find_class(module, name)


def loads(data: bytes, source: str = '<bytes>', *, torch: bool = False) -> Any:
    """Unpickle ``data`` with :class:`RestrictedUnpickler`.

    Raises:
        StadError: refers to a refused global, or is not a readable pickle.
    """
    try:
        return RestrictedUnpickler(io.BytesIO(data), source, torch=torch).load()
    except StadError:
        raise
    except Exception as e:  # truncated or not a pickle at all
        # one line whatever the exception says (torch's messages span lines)
        raise StadError(f'{source}: not a readable pickle ({type(e).__name__}: '
                        f'{one_line(e)})') from e


def load_pickle(path: str, what: str = 'pickle', *, torch: bool = False) -> Any:
    """Read ``path`` with :class:`RestrictedUnpickler`; ``what`` names the file's role
    in errors (``'ground truth'``, ``'proposal file'``).

    Raises:
        StadError: missing file, refused global, or not a readable pickle.
    """
    if not os.path.isfile(path):
        raise StadError(f'{path}: {what} not found')
    with open(path, 'rb') as f:
        data = f.read()
    return loads(data, path, torch=torch)
