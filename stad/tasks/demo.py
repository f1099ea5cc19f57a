"""``stad demo``: predict the actions of the people in a video and write an annotated mp4.

Frames are decoded once in order for prediction (:func:`stad.apis.video.predict_video`,
:class:`stad.io.video.VideoFrames`) and once more for rendering
(``VideoFrames.iter_frames``), drawn
(:mod:`stad.visualization.render`) and encoded one at a time
(:func:`stad.io.video.write_mp4`, atomic).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import Mapping

from stad.apis.action import load_action_model
from stad.apis.detect import make_detector
from stad.apis.video import DemoOptions, frame_events, predict_video, track_segments
from stad.errors import StadError
from stad.io.atomic import atomic_write_text, check_writable
from stad.io.label_map import read_label_map
from stad.io.video import VideoFrames, write_mp4
from stad.progress import progress_bar
from stad.visualization.render import annotate_frames


def check_output(out: str, video: str) -> None:
    """Refuse an output ``out`` that the demo could not write at the end: a directory,
    the input ``video`` itself, or in a folder that cannot be created or written.

    Nothing is created: the folder is made when the video is written.
    """
    if os.path.realpath(out) == os.path.realpath(video) or (
            os.path.exists(out) and os.path.exists(video) and os.path.samefile(out, video)):
        raise StadError(f'{out}: output is the input video')
    check_writable(out)


def _ids(ids: list[int], limit: int = 10) -> str:
    shown = ', '.join(str(i) for i in ids[:limit])
    return shown + (f', ... ({len(ids)} in all)' if len(ids) > limit else '')


def check_label_map(labels: Mapping[int, str], num_classes: int, path: str) -> None:
    """The label map ``path`` must name every score column ``0..num_classes-1`` of the
    action model, and nothing else (``stad convert`` writes ids 0, 1, ... in class
    order; ``top_actions`` looks score column ``c`` up as id ``c``)."""
    missing = [i for i in range(num_classes) if i not in labels]
    extra = sorted(i for i in labels if not 0 <= i < num_classes)
    if missing:
        raise StadError(f'{path}: label map lacks ids {_ids(missing)} of the action '
                        f"model's {num_classes} classes (ids 0..{num_classes - 1})")
    if extra:
        raise StadError(f'{path}: label map has ids {_ids(extra)} beyond the action '
                        f"model's {num_classes} classes (ids 0..{num_classes - 1})")


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


def load_models(det_config: str, det_checkpoint: str, config: str, checkpoint: str, *,
                options: DemoOptions = DemoOptions(), device: str = 'cpu',
                cfg_options: Mapping | None = None, backend: str = 'torch',
                onnx_dir: str | None = None, precision: str = 'f32',
                num_frames: int | None = None, video: str = 'video',
                threads: int | None = None):
    """The demo's two models: ``(detector, ActionModel)``, on ``backend``
    (:func:`stad.apis.detect.make_detector`).

    The action model loads first: a video of ``num_frames`` frames shorter than its clip
    window fails before the detector loads. ``backend``: ``'torch'`` (eager PyTorch),
    ``'onnxruntime'`` or ``'openvino'`` (both run the files ``stad export onnx`` wrote
    to ``onnx_dir``; :mod:`stad.apis.runtime`); the configs and checkpoints may then be
    ``None`` (the export has the configs, the ONNX files the weights). ``precision``:
    OpenVINO's ``'f32'`` or ``'bf16'``. ``threads``: each runtime session's threads
    (default: the runtimes' own, every core).
    """
    from stad.apis.runtime import check_backend
    check_backend(backend, precision)
    am = load_action_model(config, checkpoint, device=device, cfg_options=cfg_options,
                           backend=backend, onnx_dir=onnx_dir, precision=precision,
                           threads=threads)
    if num_frames is not None:
        am.check_length(num_frames, video)
    detector = make_detector(det_config, det_checkpoint, score_thr=options.det_score_thr,
                             max_per_frame=options.max_persons, backend=backend,
                             onnx_dir=onnx_dir, precision=precision, device=device,
                             threads=threads)
    if options.det_cat_id is not None:
        detector.label = int(options.det_cat_id)
    return detector, am


def model_labels(am, labels: Mapping[int, str] | None, label_map: str | None) -> dict:
    """``{score column: name}``: ``labels`` (read from the file ``label_map`` before any
    model loaded, so a bad file failed first) checked against the model, else the
    model's class names, else the class indices."""
    if labels is not None:
        check_label_map(labels, am.num_classes, label_map)
        return dict(labels)
    names = am.class_names or [str(i) for i in range(am.num_classes)]
    return dict(enumerate(names))


def _predict(video, det_config, det_checkpoint, config, checkpoint, label_map, options,
             device, cfg_options, progress, backend='torch', onnx_dir=None, precision='f32'):
    """Load both models and predict: ``(VideoFrames, [KeyframeResult])``."""
    # a bad file fails before any model loads
    labels = read_label_map(label_map) if label_map is not None else None
    source = VideoFrames(video)
    detector, am = load_models(det_config, det_checkpoint, config, checkpoint,
                               options=options, device=device, cfg_options=cfg_options,
                               backend=backend, onnx_dir=onnx_dir, precision=precision,
                               num_frames=source.num_frames, video=video)
    labels = model_labels(am, labels, label_map)
    return source, predict_video(source, detector, am, label_map=labels, options=options,
                                 progress=progress)


def predict(video: str, *, det_config: str | None = None, det_checkpoint: str | None = None,
            config: str | None = None, checkpoint: str | None = None,
            label_map: str | None = None, options: DemoOptions = DemoOptions(),
            device: str = 'cpu', cfg_options: Mapping | None = None, progress: bool = False,
            backend: str = 'torch', onnx_dir: str | None = None,
            precision: str = 'f32') -> dict:
    """The demo's predictions on ``video`` as data, without rendering (``stad.predict``).

    The models: both configs and checkpoints (``backend='torch'``), or ``backend=
    'onnxruntime'`` / ``'openvino'`` with the ``stad export onnx`` folder ``onnx_dir``
    (configs and checkpoints then optional; ``precision``: OpenVINO's ``'f32'`` or
    ``'bf16'``).

    Returns:
        ``{'video', 'fps', 'segments': [...], 'events': [...]}``: the action segments per
        person track (:func:`stad.apis.video.track_segments`) and every box of every
        tracked frame (:func:`stad.apis.video.frame_events`).
    """
    source, results = _predict(video, det_config, det_checkpoint, config, checkpoint,
                               label_map, options, device, cfg_options, progress,
                               backend, onnx_dir, precision)
    return dict(video=os.path.abspath(video), fps=source.fps,
                segments=track_segments(results, source.fps),
                events=frame_events(results, source.fps))


def run_demo(video: str, out: str, *, det_config: str | None, det_checkpoint: str | None,
             config: str | None, checkpoint: str | None, label_map: str | None = None,
             options: DemoOptions = DemoOptions(), out_fps: float | None = None,
             output_stride: int = 1, device: str = 'cpu',
             cfg_options: Mapping | None = None, progress: bool = True,
             events: str | None = None, segments: str | None = None,
             backend: str = 'torch', onnx_dir: str | None = None,
             precision: str = 'f32') -> DemoSummary:
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
        progress: progress bars with ETA for prediction and rendering.
        events: write every drawn box as a JSON Lines event (frame, time, track ID, box,
            top actions; :func:`stad.apis.video.frame_events`) to this file.
        segments: write the action segments per person track (track ID, label, start /
            end frame and seconds, mean score; :func:`stad.apis.video.track_segments`) as
            JSON to this file. Both are written atomically after the video.
        backend, onnx_dir, precision: as in :func:`predict`.

    Raises:
        StadError: missing files, an output that cannot be written (checked before any
            model is loaded), a video shorter than one clip window, a label map that
            does not name exactly the model's classes, bad options.
    """
    if output_stride < 1:
        raise StadError(f'output stride must be >= 1, got {output_stride}')
    if out_fps is not None and not (math.isfinite(out_fps) and out_fps > 0):
        raise StadError(f'output fps must be a finite number > 0, got {out_fps}')
    check_output(out, video)
    for path in (events, segments):
        if path is not None:
            check_writable(path)
    source, results = _predict(video, det_config, det_checkpoint, config, checkpoint,
                               label_map, options, device, cfg_options, progress,
                               backend, onnx_dir, precision)
    fps = out_fps or source.fps / output_stride
    n_out = -(-source.num_frames // output_stride)
    with progress_bar(total=n_out, desc='demo: render', unit='frame', disable=not progress) as bar:
        written = write_mp4(annotate_frames(source.iter_frames(output_stride), results),
                            out, fps=fps, size=(source.width, source.height),
                            on_frame=lambda: bar.update(1))
    if events is not None:
        atomic_write_text(events, ''.join(json.dumps(e) + '\n'
                                          for e in frame_events(results, source.fps)))
    if segments is not None:
        atomic_write_text(segments, json.dumps(
            dict(video=os.path.abspath(video), fps=source.fps,
                 segments=track_segments(results, source.fps)), indent=1) + '\n')
    tracks = len({int(t) for r in results for t in r.track_ids})
    return DemoSummary(out=out, frames_written=written,
                       keyframes=sum(r.is_keyframe for r in results),
                       boxes=sum(len(r.boxes) for r in results), tracks=tracks, fps=fps,
                       size=(source.width, source.height),
                       peak_live_frames=source.peak_live_frames)
