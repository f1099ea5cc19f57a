"""What every importer shares: tubes from per-frame boxes, the ground truth dict, and
writing a dataset root (videos + ``multisports_GT.pkl``) atomically and validated.

An importer collects, per video, its source file and ``{label: [(frame, x1, y1, x2,
y2), ...]}`` runs of boxes, then calls :func:`build_gt` and :func:`write_dataset`.
Nothing is written under the output root unless the whole import validates
(:func:`stad.data.gt.check_gt` and :func:`stad.data.gt.check_videos`).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import numpy as np

from stad.errors import StadError
from stad.io.atomic import atomic_dump_pickle, atomic_folder, link_or_copy
from stad.io.layout import GT_SPLIT_KEYS, VIDEO_EXT, DataLayout, check_video_id

# a box may reach this far outside the image (pixels) before an importer refuses it
BOX_TOL_PX = 1.0


@dataclass
class VideoInfo:
    """A source video as found on disk."""

    path: str
    nframes: int
    height: int
    width: int
    fps: float


@dataclass
class ImportSummary:
    """What an import wrote: printed by ``stad import`` and kept in ``import.json``."""

    layout: DataLayout
    videos: int
    tubes: int
    labels: list[str]
    lines: list[str] = field(default_factory=list)  # per-video report lines


def probe_video(path: str) -> VideoInfo:
    """Frame count, size and frame rate of ``path`` (container header, OpenCV).

    Raises:
        StadError: missing or unreadable file.
    """
    import cv2
    if not os.path.isfile(path):
        raise StadError(f'{path}: video not found')
    cap = cv2.VideoCapture(path)
    try:
        if not cap.isOpened():
            raise StadError(f'{path}: cannot read video')
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = float(cap.get(cv2.CAP_PROP_FPS))
    finally:
        cap.release()
    if n <= 0 or w <= 0 or h <= 0:
        raise StadError(f'{path}: cannot read video (no frames or no size in its header)')
    return VideoInfo(path, n, h, w, fps if fps > 0 else 25.0)


_UNSAFE = re.compile(r'[^A-Za-z0-9._-]+')


def make_video_id(group: str, name: str) -> str:
    """``'<group>/<name>'`` with characters other than letters, digits, ``. _ -`` made
    ``_`` and the extension dropped: a valid stad video id (:mod:`stad.io.layout`)."""
    name = os.path.splitext(os.path.basename(name))[0]
    parts = [_UNSAFE.sub('_', p).strip('._') or 'video' for p in (group, name)]
    return check_video_id('/'.join(parts))


def consecutive_runs(rows: list) -> list[list]:
    """Split ``[(frame, ...), ...]`` (sorted by frame) where frames are not consecutive:
    a tube covers consecutive frames (the official evaluator assumes so)."""
    runs: list[list] = []
    for r in rows:
        if runs and int(r[0]) == int(runs[-1][-1][0]) + 1:
            runs[-1].append(r)
        else:
            runs.append([r])
    return runs


def check_box(box, info: VideoInfo, where: str) -> None:
    """Refuse a box outside the image (beyond :data:`BOX_TOL_PX`) or with no area;
    ``where`` names the file, line or track and frame for the message."""
    x1, y1, x2, y2 = (float(v) for v in box)
    if not all(np.isfinite([x1, y1, x2, y2])):
        raise StadError(f'{where}: box has a non-finite coordinate')
    if x2 <= x1 or y2 <= y1:
        raise StadError(f'{where}: box ({x1:g}, {y1:g}, {x2:g}, {y2:g}) has no area')
    t = BOX_TOL_PX
    if x1 < -t or y1 < -t or x2 > info.width + t or y2 > info.height + t:
        raise StadError(f'{where}: box ({x1:g}, {y1:g}, {x2:g}, {y2:g}) is outside the '
                        f'{info.width}x{info.height} image')


def check_frame(frame: int, info: VideoInfo, where: str) -> None:
    """Refuse a 1-based frame number outside the video."""
    if not 1 <= frame <= info.nframes:
        raise StadError(f'{where}: frame {frame} is outside the video (frames 1..{info.nframes} '
                        f'of {info.path})')


def tube_array(rows: list, info: VideoInfo) -> np.ndarray:
    """``(T, 5)`` float array ``(frame, x1, y1, x2, y2)`` of consecutive rows, boxes
    clipped to the image (inside the tolerance already checked)."""
    a = np.asarray(rows, dtype=np.float64).reshape(-1, 5)
    a[:, [1, 3]] = np.clip(a[:, [1, 3]], 0, info.width)
    a[:, [2, 4]] = np.clip(a[:, [2, 4]], 0, info.height)
    return a


def split_train_val(videos: list[str], *, val_fraction: float = 0.25,
                    val: list[str] | None = None) -> tuple[list[str], list[str]]:
    """Train and val video lists: ``val`` as given, or every ``1/val_fraction``-th video
    of the sorted list (deterministic; at least one val and one train video when there
    are two or more)."""
    videos = sorted(videos)
    if val is not None:
        unknown = sorted(set(val) - set(videos))
        if unknown:
            raise StadError(f'val videos not in the import: {", ".join(unknown)}')
        vs = set(val)
    else:
        if not 0 <= val_fraction < 1:
            raise StadError(f'val fraction must be in [0, 1), got {val_fraction}')
        step = max(int(round(1 / val_fraction)), 2) if val_fraction > 0 else 0
        vs = set(videos[step - 1::step]) if step else set()
        if not vs and len(videos) >= 2 and val_fraction > 0:
            vs = {videos[-1]}
    return [v for v in videos if v not in vs], [v for v in videos if v in vs]


def build_gt(labels: list[str], infos: dict[str, VideoInfo],
             tubes: dict[str, dict[int, list[np.ndarray]]], train: list[str],
             val: list[str]) -> dict:
    """The MultiSports ground truth dict (:mod:`stad.data.gt`'s schema) of an import."""
    return dict(labels=list(labels), train_videos=[list(train)], test_videos=[list(val)],
                nframes={v: int(infos[v].nframes) for v in infos},
                resolution={v: (int(infos[v].height), int(infos[v].width)) for v in infos},
                gttubes={v: {int(k): list(ts) for k, ts in tubes.get(v, {}).items() if ts}
                         for v in infos})


def _place_video(src: str, dst: str, info: VideoInfo) -> None:
    """Hard-link or copy an ``.mp4`` source; re-encode anything else to H.264 mp4 with
    every frame kept."""
    if src.lower().endswith(VIDEO_EXT):
        link_or_copy(src, dst)
        return
    from stad.io.video import VideoFrames, write_mp4
    frames = VideoFrames(src)
    write_mp4((f for _, f in frames.iter_frames()), dst, fps=info.fps,
              size=(info.width, info.height))


def write_dataset(out_root: str, gt: dict, infos: dict[str, VideoInfo], *,
                  overwrite: bool = False, source: str = 'import',
                  extra: dict[str, bytes] | None = None) -> DataLayout:
    """Write ``gt`` and its videos as a dataset root, validated, all or nothing.

    Everything goes to ``<out_root>.<pid>.tmp`` first (videos hard-linked or copied,
    other containers re-encoded to mp4), is checked with :func:`stad.data.gt.check_gt`
    and :func:`stad.data.gt.check_videos`, and only then renamed to ``out_root``.

    Args:
        extra: more files to write, ``{path relative to the root: bytes}``.
        overwrite: replace an existing ``out_root`` (else an existing non-empty
            folder is an error).

    Raises:
        StadError: the first validation error (naming the video, label, tube and field),
            or ``out_root`` exists.
    """
    from stad.data.gt import check_gt, check_videos
    check_gt(gt, source).raise_on_error()
    with atomic_folder(out_root, overwrite=overwrite) as tmp:
        layout = DataLayout(tmp)
        for vid, info in infos.items():
            _place_video(info.path, layout.video_path(vid), info)
        for rel, data in (extra or {}).items():
            path = os.path.join(tmp, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'wb') as f:
                f.write(data)
        issues = check_videos(gt, layout.video_dir, source)
        if issues:
            raise StadError(issues[0].message)
        atomic_dump_pickle(gt, layout.gt_file)
    return DataLayout(out_root)


def split_of(gt: dict, video: str) -> str:
    """``'train'`` or ``'val'``: the split list of ``gt`` that holds ``video``."""
    for split, key in GT_SPLIT_KEYS.items():
        lists = gt.get(key) or [[]]
        if video in lists[0]:
            return split
    return 'train'
