"""Reading mmengine config files (``.py``) with one-line errors."""
from __future__ import annotations

import ast
import os
from typing import Sequence

from stad.errors import StadError
from stad.io.checkpoint import one_line


def read_config(path: str, what: str = 'config'):
    """``mmengine.config.Config.fromfile(path)``.

    Raises:
        StadError: one line naming ``path``: missing, not valid Python, an error while
            it runs (a missing ``_base_``), or a file that cannot be read or written
            (mmengine writes a temporary copy; a full disk or a file-size limit).
    """
    from mmengine.config import Config
    if not os.path.isfile(path):
        raise StadError(f'{what} file not found: {path}')
    try:
        return Config.fromfile(path)
    except SyntaxError as e:
        raise StadError(f'{path}:{e.lineno}: not a valid {what} ({e.msg})') from None
    except OSError as e:  # also a missing _base_ file, which e.filename names
        where = f': {e.filename}' if e.filename and e.filename != path else ''
        raise StadError(f'{path}: cannot read the {what} ({e.strerror or e}{where})') from None
    except Exception as e:  # what the config's code or its _base_ raised
        raise StadError(f'{path}: cannot load the {what} ({type(e).__name__}: '
                        f'{one_line(e)})') from None


def label_set_overrides(cfg, labels: Sequence[str], config: str = '<config>') -> dict:
    """What an action config must say for a label set: the head's ``num_classes`` and
    ``topk`` (``BBoxHeadAVA`` asserts every ``k < num_classes``), the datasets'
    ``num_classes`` and the ``class_names`` the demo draws.

    The synthetic config hard-codes its 4 classes; an imported dataset's classes come
    from its ground truth's ``labels`` (``stad run`` passes them).
    """
    n = len(labels)
    head = (((cfg.get('model') or {}).get('roi_head') or {}).get('bbox_head'))
    if head is None:
        raise StadError(f'{config}: no model.roi_head.bbox_head: not an action detection '
                        'config, cannot set its classes')
    if n < 2:
        raise StadError(f'an action model needs at least 2 classes, the label set has {n}: '
                        f'{list(labels)}')
    out = {'model.roi_head.bbox_head.num_classes': n,
           'model.roi_head.bbox_head.topk': tuple(sorted({1, min(2, n - 1)})),
           'class_names': list(labels)}
    for dl in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = (cfg.get(dl) or {}).get('dataset') or {}
        if 'num_classes' in ds:
            out[f'{dl}.dataset.num_classes'] = n
    return out


def recorded_class_names(ckpt: dict) -> list[str] | None:
    """The ``class_names`` of the config a checkpoint was trained with (mmengine keeps
    the config's text in ``meta['cfg']``), or None. The text is parsed, never run: only a
    top-level ``class_names = [...]`` of string literals counts."""
    text = (ckpt.get('meta') or {}).get('cfg') if isinstance(ckpt, dict) else None
    if not isinstance(text, str):
        return None
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == 'class_names' for t in node.targets):
            try:
                names = ast.literal_eval(node.value)
            except ValueError:
                return None
            if isinstance(names, (list, tuple)) and all(isinstance(n, str) for n in names):
                return list(names)
    return None
