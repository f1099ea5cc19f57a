"""``stad synth --format``: the synthetic dataset in any of the formats users bring.

The native dataset (:func:`stad.data.synth.synth`, MultiSports layout + who-is-who MOT
ground truth) is rendered once into a temporary folder next to ``out`` and converted by
the format's writer, so the same seed gives the same people and actions in every
format; the temporary folder is removed afterwards.
"""
from __future__ import annotations

import os
import shutil
from typing import Callable

from stad.errors import StadError

FORMATS = ('multisports', 'cvat', 'ava', 'createml-folders', 'createml-csv')


def _writer(fmt: str) -> Callable:
    if fmt == 'cvat':
        from stad.data.formats.cvat import write_cvat
        return write_cvat
    if fmt == 'ava':
        from stad.data.formats.ava import write_ava
        return write_ava
    from stad.data.formats import createml
    return {'createml-folders': createml.write_createml_folders,
            'createml-csv': createml.write_createml_csv}[fmt]


def synth_format(out: str, fmt: str = 'multisports', *, overwrite: bool = False,
                 progress: bool = True, **synth_kwargs) -> str:
    """Write the synthetic dataset under ``out`` in format ``fmt`` (one of
    :data:`FORMATS`); ``synth_kwargs`` go to :func:`stad.data.synth.synth`. Returns ``out``.

    Raises:
        StadError: unknown format, or ``out`` exists and is not empty (without
            ``overwrite``).
    """
    from stad.data.synth import synth
    if fmt not in FORMATS:
        raise StadError(f'format must be one of {", ".join(FORMATS)}, got {fmt!r}')
    if fmt == 'multisports':
        synth(out, progress=progress, **synth_kwargs)
        return out
    out = os.path.abspath(out)
    if os.path.isdir(out) and os.listdir(out) and not overwrite:
        raise StadError(f'{out} exists and is not empty (pass --overwrite to replace it)')
    native = f'{out}.native.{os.getpid()}.tmp'
    shutil.rmtree(native, ignore_errors=True)
    try:
        synth(native, progress=progress, **synth_kwargs)
        _writer(fmt)(native, out, overwrite=overwrite)
    finally:
        shutil.rmtree(native, ignore_errors=True)
    if progress:
        print(f'wrote the synthetic dataset as {fmt} into {out}')
    return out
