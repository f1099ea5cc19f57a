"""Which annotation format a path holds (``stad run --source PATH`` without
``--source-format``)."""
from __future__ import annotations

import csv
import os

from stad.errors import StadError
from stad.io.layout import VIDEO_EXTENSIONS

SOURCE_FORMATS = ('multisports', 'cvat', 'ava', 'createml')


def _csv_header(path: str) -> list[str]:
    try:
        with open(path, newline='') as f:
            return [c.strip().lower() for c in next(csv.reader(f), [])]
    except (OSError, UnicodeDecodeError):
        return []


def _is_createml_table(path: str) -> bool:
    """A Create ML annotation file: CSV with ``video`` and ``label`` columns, or JSON
    holding a list of objects with those keys."""
    if path.lower().endswith('.json'):
        import json
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError):
            return False
        return (isinstance(data, list) and bool(data) and isinstance(data[0], dict)
                and {'video', 'label'} <= set(data[0]))
    return {'video', 'label'} <= set(_csv_header(path))


def detect_format(path: str) -> str:
    """One of :data:`SOURCE_FORMATS` for ``path``:

    * ``multisports``: a dataset root (``trainval/multisports_GT.pkl``);
    * ``cvat``: an ``.xml`` file, or a folder holding ``.xml`` files;
    * ``createml``: a ``.json`` file or a CSV with ``video`` and ``label`` columns (an
      annotation file), a folder holding one, or a folder of ``<label>/<video>`` folders;
    * ``ava``: another ``.csv`` file, or a folder holding ``.csv`` files.

    Raises:
        StadError: the path does not exist or matches none of them.
    """
    if not os.path.exists(path):
        raise StadError(f'{path}: no such file or folder')
    if os.path.isfile(path):
        low = path.lower()
        if low.endswith('.xml'):
            return 'cvat'
        if low.endswith(('.json', '.csv')):
            return 'createml' if _is_createml_table(path) else 'ava'
        raise StadError(f'{path}: not an annotation file stad imports (.xml CVAT, .csv AVA '
                        'or Create ML, .json Create ML)')
    if os.path.isfile(os.path.join(path, 'trainval', 'multisports_GT.pkl')):
        return 'multisports'
    files = []
    for folder, _, names in os.walk(path):
        files += [os.path.join(folder, n) for n in names if not n.startswith('.')]
    if any(f.lower().endswith('.xml') for f in files):
        return 'cvat'
    tables = [f for f in files if f.lower().endswith(('.csv', '.json'))]
    if any(_is_createml_table(f) for f in tables):
        return 'createml'
    if any(f.lower().endswith('.csv') for f in tables):
        return 'ava'
    if any(f.lower().endswith(VIDEO_EXTENSIONS) and os.path.dirname(f) != os.path.abspath(path)
           for f in files):
        return 'createml'  # labelled folders <root>/<label>/<video>
    raise StadError(f'{path}: found no annotations stad imports (a MultiSports root, CVAT '
                    '.xml, AVA .csv, Create ML folders or annotation file)')
