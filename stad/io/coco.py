"""COCO detection json (what mmdet's ``CocoDataset`` reads): the person boxes of the
annotated frames, ``file_name`` relative to the rawframes dir."""
from __future__ import annotations

import json
import os

from stad.errors import StadError
from stad.io.atomic import atomic_write_text


def write_coco(path: str, coco: dict) -> None:
    """Write a COCO dict atomically."""
    atomic_write_text(path, json.dumps(coco))


def read_coco(path: str) -> dict:
    """Read a COCO json; checks the three top-level lists.

    Raises:
        StadError: missing file, bad JSON or a missing ``images``/``annotations``/
            ``categories`` list.
    """
    if not os.path.isfile(path):
        raise StadError(f'{path}: COCO file not found')
    try:
        with open(path) as f:
            coco = json.load(f)
    except ValueError as e:
        raise StadError(f'{path}: not valid JSON ({e})') from None
    for key in ('images', 'annotations', 'categories'):
        if not isinstance(coco, dict) or not isinstance(coco.get(key), list):
            raise StadError(f'{path}: expected a COCO dict with a {key!r} list')
    return coco
