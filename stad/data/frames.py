"""Frame extraction: videos -> ``rawframes/<sport>/<video>/00001.jpg`` (1-based).

:func:`extract_frames` decodes every video of the ground truth (all sports), in
parallel across videos, and is resumable: after a video's last frame it writes a
done-marker (:data:`layout.FRAMES_DONE`, the list of frames written); a video whose
marker covers the requested frames is skipped, any other (never started, interrupted,
or extracted for fewer frames) is decoded again. It can write only the frames a stage
needs (``'annotated'``: frames with ground-truth boxes, enough for detector training).

Frame ``k`` (1-based) is the k-th decoded frame, matching mmaction2's AVADataset with
MultiSports' ``timestamp_start=1, start_index=0``.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
from typing import Iterable, Mapping, Union

from stad.data.gt import annotated_frames, load_gt
from stad.errors import StadError
from stad.io.atomic import atomic_write_text
from stad.io.layout import DataLayout
from stad.progress import progress_bar

JPEG_QUALITY = 90
FrameSpec = Union[str, Mapping[str, Iterable[int]]]


def _wanted(gt: dict, videos: list[str], frames: FrameSpec) -> dict[str, list[int]]:
    if frames == 'all':
        return {v: list(range(1, int(gt['nframes'][v]) + 1)) for v in videos}
    if frames == 'annotated':
        ann = annotated_frames(gt, set(videos))
        return {v: sorted(ann.get(v, ())) for v in videos}
    if isinstance(frames, Mapping):
        return {v: sorted({int(f) for f in frames.get(v, ())}) for v in videos}
    raise ValueError(f"frames must be 'all', 'annotated' or {{video: frames}}, got {frames!r}")


def is_done(layout: DataLayout, video: str, frames: Iterable[int]) -> bool:
    """True if the marker of ``video`` lists every frame of ``frames``."""
    try:
        with open(layout.frames_done(video)) as f:
            done = set(json.load(f)['frames'])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return set(frames) <= done


def _extract_one(job: tuple) -> tuple[str, int, str | None]:
    """Worker: decode one video, write the wanted frames, then the marker."""
    import cv2
    cv2.setNumThreads(1)
    root, video, wanted = job
    layout = DataLayout(root)
    want = set(wanted)
    out_dir = layout.frames_of(video)
    os.makedirs(out_dir, exist_ok=True)
    marker = layout.frames_done(video)
    if os.path.exists(marker):
        os.remove(marker)  # being redone: not complete until we finish
    cap = cv2.VideoCapture(layout.video_path(video))
    if not cap.isOpened():
        return video, 0, f'cannot read {layout.video_path(video)}'
    written, k, last = 0, 0, max(want) if want else 0
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
    try:
        while k < last:
            k += 1
            if k not in want:
                if not cap.grab():
                    break
                continue
            ok, img = cap.read()
            if not ok:
                break
            if not cv2.imwrite(layout.frame_path(video, k), img, params):
                return video, written, f'cannot write {layout.frame_path(video, k)}'
            written += 1
    finally:
        cap.release()
    if written < len(want):
        return video, written, (f'{layout.video_path(video)} ended after {k - 1} frames, '
                                f'{len(want)} wanted (nframes in the ground truth)')
    atomic_write_text(marker, json.dumps({'frames': sorted(want)}))
    return video, written, None


def extract_frames(layout: DataLayout, videos: Iterable[str] | None = None,
                   frames: FrameSpec = 'all', workers: int = 2, *,
                   gt: dict | None = None, progress: bool = True) -> dict[str, int]:
    """Extract JPEG frames (cv2, quality :data:`JPEG_QUALITY`) for ``videos``.

    Args:
        layout: dataset root (videos in ``trainval/``, frames to ``rawframes/``).
        videos: video ids; default every video of the ground truth (all sports).
        frames: ``'all'``, ``'annotated'`` (frames with a ground-truth box), or
            ``{video: 1-based frames}``.
        workers: processes decoding videos in parallel (1: in this process).
        gt: ground truth; default ``load_gt(layout.gt_file)``.
        progress: progress bar over videos.

    Returns:
        ``{video: frames written}``; skipped (already complete) videos report 0.

    Raises:
        StadError: a video is missing, unreadable or shorter than ``nframes``.
    """
    gt = load_gt(layout.gt_file) if gt is None else gt
    videos = sorted(gt['nframes']) if videos is None else list(videos)
    unknown = [v for v in videos if v not in gt['nframes']]
    if unknown:
        raise StadError(f'{layout.gt_file}: video {unknown[0]!r} is not in the ground truth')
    wanted = _wanted(gt, videos, frames)
    result = {v: 0 for v in videos}
    jobs = [(layout.root, v, wanted[v]) for v in videos
            if wanted[v] and not is_done(layout, v, wanted[v])]
    missing = [v for _, v, _ in jobs if not os.path.isfile(layout.video_path(v))]
    if missing:
        raise StadError(f'video {missing[0]!r}: missing file {layout.video_path(missing[0])}')
    bar = progress_bar(total=len(jobs), desc='extract frames', unit='video', disable=not progress)
    errors = []

    def collect(res):
        video, n, err = res
        result[video] = n
        if err:
            errors.append(f'video {video!r}: {err}')
        bar.update(1)
        bar.set_postfix(frames=sum(result.values()))

    try:
        if workers <= 1 or len(jobs) <= 1:
            for job in jobs:
                collect(_extract_one(job))
        else:
            # not 'fork': after a detector ran in this process (stad run's Create ML import
            # comes before this stage) forked workers hang on the locks of torch's and
            # OpenCV's thread pools; forkserver's workers start from a clean process
            methods = mp.get_all_start_methods()
            ctx = mp.get_context('forkserver' if 'forkserver' in methods else 'spawn')
            with ctx.Pool(min(workers, len(jobs))) as pool:
                for res in pool.imap_unordered(_extract_one, jobs):
                    collect(res)
    finally:
        bar.close()
    if errors:
        raise StadError(errors[0] + (f' (and {len(errors) - 1} more)' if len(errors) > 1 else ''))
    return result
