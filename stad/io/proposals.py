"""Person proposal pickles (what mmaction2's ``AVADataset`` reads as ``proposal_file``).

``{img_key(video, frame): float32 (N, 5)}``: x1, y1, x2, y2 normalised to [0, 1] by the
frame's width and height, then the detector score; boxes sorted by score, frames
1-based, keys from :func:`stad.io.layout.img_key`. A frame without a proposal has **no
key**: ``AVADataset`` falls back to the whole frame for a missing key but fails on an
empty ``(0, 5)`` array, so :func:`to_proposals` never writes one.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from stad.errors import StadError
from stad.io.atomic import atomic_dump_pickle
from stad.io.layout import img_key
from stad.io.safe_pickle import load_pickle


def normalise_boxes(dets, h: float, w: float) -> np.ndarray:
    """Pixel detections ``(N, 5)`` of an ``h x w`` frame -> float32 ``(N, 5)`` with the
    boxes divided by ``(w, h, w, h)`` and clipped to [0, 1] (a copy)."""
    arr = np.array(dets, dtype=np.float32).reshape(-1, 5)
    arr[:, :4] = np.clip(arr[:, :4] / np.array([w, h, w, h], np.float32), 0, 1)
    return arr


def to_proposals(detections: Mapping[tuple[str, int], np.ndarray],
                 sizes: Mapping[str, tuple[float, float]], *,
                 where: str = 'detections') -> dict[str, np.ndarray]:
    """``{(video, frame): pixel (N, 5)}`` -> proposals ``{img_key: normalised (N, 5)}``,
    sorted by key, frames without a box left out.

    Args:
        detections: per frame x1, y1, x2, y2 in pixels, score; frames 1-based.
        sizes: ``(h, w)`` per video: **the size the boxes were measured in** (the
            decoded frame's, e.g. mmdet's ``ori_shape``), or per ``(video, frame)``.
        where: names the input in errors.

    Raises:
        StadError: a video without a size.
    """
    out = {}
    for (video, frame), dets in sorted(detections.items()):
        if len(dets) == 0:
            continue
        size = sizes.get((video, frame)) or sizes.get(video)
        if size is None:
            raise StadError(f'{where}: video {video!r} frame {frame}: no frame size to '
                            'normalise its boxes')
        out[img_key(video, int(frame))] = normalise_boxes(dets, *size)
    return out


def save_tracks(path: str, tracks: Mapping[str, np.ndarray]) -> None:
    """Write ``{img_key: (N,) int64 track ids}`` (rows of the proposal arrays; 0 = no
    track) atomically, to :func:`stad.io.layout.tracks_file` of the proposal file."""
    atomic_dump_pickle({k: np.asarray(v, dtype=np.int64) for k, v in tracks.items()}, path)


def load_tracks(path: str, proposals: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Read a tracks sidecar and check it against its ``proposals`` (same keys, one id
    per box).

    Raises:
        StadError: unreadable or unsafe file, or ids that do not match the proposals.
    """
    data = load_pickle(path, 'proposal tracks file')
    if not isinstance(data, dict):
        raise StadError(f'{path}: expected {{img_key: (N,) track ids}}')
    for key, boxes in proposals.items():
        ids = data.get(key)
        if ids is None or np.shape(ids) != (len(boxes),):
            raise StadError(f'{path}: {key}: {0 if ids is None else len(ids)} track ids for '
                            f'{len(boxes)} proposals (made for another proposal file?)')
    return {k: np.asarray(v, dtype=np.int64) for k, v in data.items()}


def save_proposals(path: str, proposals: Mapping[str, np.ndarray]) -> None:
    """Write a proposal dict atomically."""
    atomic_dump_pickle(dict(proposals), path)


def load_proposals(path: str) -> dict[str, np.ndarray]:
    """Read a proposal pickle with stad's restricted loader.

    Raises:
        StadError: missing, unreadable or unsafe file, or not
            ``{img_key: (N, 4|5) array}``.
    """
    data = load_pickle(path, 'proposal file')
    if not isinstance(data, dict) or not all(
            isinstance(v, np.ndarray) and v.ndim == 2 and v.shape[1] in (4, 5)
            for v in data.values()):
        raise StadError(f'{path}: expected {{img_key: array (N, 5)}} proposals')
    return data
