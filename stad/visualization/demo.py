"""Render demo predictions on every frame of a video and write an mp4, streaming.

Boxes between keyframes (documented choice): a frame ``f`` shows the tracks of the last
keyframe at or before it (``kp``). A track also present on the next keyframe (``kn``)
moves linearly from its ``kp`` box to its ``kn`` box; a track absent from ``kn`` keeps
its ``kp`` box until ``kn``. Frames before the first keyframe show the first keyframe's
boxes, frames after the last keyframe its boxes. Captions (track ID, top actions) are
those of ``kp``. Colours are a function of the track ID only, so stable per track.

Frames are decoded one at a time and encoded at once (moviepy's ffmpeg writer); the
output is written to a temp file and renamed (:func:`stad.io.atomic_path`).
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from ..apis.demo import DemoOptions, KeyframeResult
from ..errors import StadError
from ..io import atomic_path
from .draw import draw_boxes


def frame_boxes(results: Sequence[KeyframeResult], index: int
                ) -> tuple[np.ndarray, np.ndarray, KeyframeResult | None, np.ndarray]:
    """Boxes to draw on frame ``index`` (0-based), per the module's interpolation rule.

    Args:
        results: keyframe results sorted by ``frame_index``.
        index: 0-based frame index.

    Returns:
        ``(boxes (N, 4) float pixels, track_ids (N,), source keyframe or None,
        rows (N,) indices of the boxes in the source keyframe)``.
    """
    if not results:
        return np.zeros((0, 4)), np.zeros(0, np.int64), None, np.zeros(0, np.int64)
    keys = [r.frame_index for r in results]
    i = bisect.bisect_right(keys, index) - 1
    if i < 0:  # before the first keyframe: hold its boxes
        i = 0
    kp = results[i]
    boxes = np.asarray(kp.boxes, dtype=np.float64).reshape(-1, 4).copy()
    rows = np.arange(len(boxes))
    if i + 1 < len(results) and index > kp.frame_index:
        kn = results[i + 1]
        alpha = (index - kp.frame_index) / float(kn.frame_index - kp.frame_index)
        where_next = {int(t): j for j, t in enumerate(kn.track_ids)}
        for j, tid in enumerate(kp.track_ids):
            k = where_next.get(int(tid))
            if k is not None:
                boxes[j] = (1 - alpha) * boxes[j] + alpha * np.asarray(kn.boxes[k], np.float64)
    return boxes, np.asarray(kp.track_ids, np.int64), kp, rows


def caption(track_id: int, actions: Sequence[tuple[str, float]]) -> str:
    """``'#3 wave 0.82, walk 0.41'`` (actions best first; just ``'#3'`` without any)."""
    text = f'#{int(track_id)}'
    if actions:
        text += ' ' + ', '.join(f'{name} {score:.2f}' for name, score in actions)
    return text


def render_frame(frame_rgb: np.ndarray, boxes: np.ndarray, track_ids: Sequence[int],
                 captions: Sequence[str], *, thickness: int = 2) -> np.ndarray:
    """Draw boxes (pixels) and captions on a copy of an RGB uint8 frame; colour per track ID."""
    if not len(boxes):
        return frame_rgb
    bgr = np.ascontiguousarray(frame_rgb[..., ::-1])
    out = draw_boxes(bgr, boxes, texts=list(captions), colours=[int(t) for t in track_ids],
                     thickness=thickness)
    return np.ascontiguousarray(out[..., ::-1])


def annotate_frames(frames: Iterable[tuple[int, np.ndarray]],
                    results: Sequence[KeyframeResult]) -> Iterator[np.ndarray]:
    """Yield each ``(index, RGB frame)`` drawn with :func:`frame_boxes` + :func:`render_frame`."""
    for index, frame in frames:
        boxes, ids, kp, rows = frame_boxes(results, index)
        caps = [caption(ids[j], kp.actions[rows[j]]) for j in range(len(ids))] if kp else []
        yield render_frame(frame, boxes, ids, caps)


def _even(frame: np.ndarray) -> np.ndarray:
    """Pad to even height and width (yuv420p H.264 needs both even) by repeating the edge."""
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode='edge')


def write_mp4(frames: Iterable[np.ndarray], path: str, *, fps: float,
              size: tuple[int, int], on_frame: Callable[[], None] | None = None) -> int:
    """Encode RGB uint8 frames (an iterable, consumed one at a time) to an H.264 mp4.

    Written atomically: a failure leaves no partial ``path``.

    Args:
        frames: RGB (h, w, 3) uint8 frames, all of ``size``.
        path: output file (``.mp4``).
        fps: frame rate written in the file.
        size: ``(width, height)`` of the frames (odd sizes are padded to even).
        on_frame: called after each frame (progress).

    Returns:
        The number of frames written.
    """
    from moviepy.video.io.ffmpeg_writer import FFMPEG_VideoWriter
    w, h = size
    n = 0
    with atomic_path(path) as tmp:
        writer = FFMPEG_VideoWriter(tmp, (w + w % 2, h + h % 2), fps, codec='libx264',
                                    preset='veryfast', pixel_format='yuv420p')
        try:
            for frame in frames:
                writer.write_frame(_even(frame))
                n += 1
                if on_frame is not None:
                    on_frame()
        finally:
            writer.close()
    return n


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`run_demo` did."""

    out: str
    frames_written: int
    keyframes: int
    boxes: int
    tracks: int
    fps: float
    size: tuple
    peak_live_frames: int


def run_demo(video: str, out: str, *, det_config: str, det_checkpoint: str, config: str,
             checkpoint: str, label_map: str | None = None,
             options: DemoOptions = DemoOptions(), out_fps: float | None = None,
             output_stride: int = 1, device: str = 'cpu',
             cfg_options: Mapping | None = None, progress: bool = True) -> DemoSummary:
    """``stad demo``: predict actions of the people in ``video`` and write ``out`` (mp4).

    Args:
        video: input video file.
        out: output mp4 path (written atomically).
        det_config, det_checkpoint: mmdet person detector.
        config, checkpoint: mmaction2 action model (its test pipeline's
            ``SampleAVAFrames`` sets the clip window).
        label_map: ``'id: name'`` file; default the config's ``class_names`` (else the
            class indices as names).
        options: detection, action, keyframe and tracking knobs (:class:`DemoOptions`).
        out_fps: frame rate of ``out``; default the video's rate / ``output_stride``
            (real-time playback).
        output_stride: write frames 0, s, 2s, ... (1: every frame; mmaction2 demo's
            ``--output-stepsize``).
        device: torch device.
        cfg_options: overrides of the action config, ``{'a.b': value}``.
        progress: tqdm bars with ETA for prediction and rendering.

    Raises:
        StadError: missing files, a video shorter than one clip window, bad options.
    """
    from tqdm import tqdm

    from ..apis.action import load_action_model
    from ..apis.demo import VideoFrames, check_video_length, predict_video, read_label_map
    from ..apis.detect import FrameDetector, load_detector

    if output_stride < 1:
        raise StadError(f'output stride must be >= 1, got {output_stride}')
    if out_fps is not None and out_fps <= 0:
        raise StadError(f'output fps must be > 0, got {out_fps}')
    source = VideoFrames(video)
    am = load_action_model(config, checkpoint, device=device, cfg_options=cfg_options)
    # fail before loading the detector and before any work
    check_video_length(source, am.clip_window, clip_len=am.clip_len,
                       frame_interval=am.frame_interval)
    if label_map is not None:
        labels = read_label_map(label_map)
    else:
        names = am.class_names or [str(i) for i in range(am.num_classes)]
        labels = dict(enumerate(names))
    detector = FrameDetector(load_detector(det_config, det_checkpoint, device=device),
                             score_thr=options.det_score_thr,
                             max_per_frame=options.max_persons)
    if options.det_cat_id is not None:
        detector.label = int(options.det_cat_id)
    results = predict_video(source, detector, am, label_map=labels, options=options,
                            progress=progress)
    fps = out_fps or source.fps / output_stride
    n_out = -(-source.num_frames // output_stride)
    with tqdm(total=n_out, desc='demo: render', unit='frame', disable=not progress,
              dynamic_ncols=True) as bar:
        written = write_mp4(annotate_frames(source.iter_frames(output_stride), results),
                            out, fps=fps, size=(source.width, source.height),
                            on_frame=lambda: bar.update(1))
    tracks = len({int(t) for r in results for t in r.track_ids})
    return DemoSummary(out=out, frames_written=written, keyframes=len(results),
                       boxes=sum(len(r.boxes) for r in results), tracks=tracks, fps=fps,
                       size=(source.width, source.height),
                       peak_live_frames=source.peak_live_frames)
