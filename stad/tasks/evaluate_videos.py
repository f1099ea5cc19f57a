"""``stad eval-videos``: video-level evaluation of a classifier-style test set (Create ML's
Evaluation tab, TAO ActionRecognitionNet's ``evaluate``): accuracy of the dominant
person's label per labelled range and per video, per-class precision and recall, and
confusion matrices (:mod:`stad.evaluation.video_level`).

The labelled ranges are the ground-truth tubes of the split (one tube = one range: its
video, label, first and last frame), so it runs on any stad dataset root, in particular
one imported from Create ML folders or an annotation file, where each labelled video or
row became one tube.
"""
from __future__ import annotations

import json
import os

from stad.data.gt import load_gt, split_videos
from stad.errors import StadError
from stad.evaluation.video_level import (
                          VideoLevelResult,
                          check_video_mode,
                          evaluate_video_level,
                          format_video_table,
                          labelled_ranges,
                          save_confusion_png,
)
from stad.io.atomic import atomic_write_text, check_writable
from stad.io.detections import read_detections
from stad.io.layout import SPLITS, DataLayout


def evaluate_videos(data_root: str, detections_file: str, *, split: str = 'val',
                    mode: str = 'both', out_dir: str | None = None
                    ) -> tuple[VideoLevelResult, str]:
    """Score the detections of a split's videos against its labelled ranges.

    Args:
        data_root: dataset root in stad's layout (``stad/io/layout.py``).
        detections_file: what ``stad predict`` writes (format 1 of
            :mod:`stad.io.detections`), with the person track of every row: the dominant
            person is a track.
        split: ``'val'`` (``test_videos``) or ``'train'``; the file's videos are matched
            by name against the split's.
        mode: ``'both'``, ``'center'`` or ``'conv'`` (see
            :mod:`stad.evaluation.video_level`).
        out_dir: if given, ``results.json``, ``table.txt`` and ``confusion_<mode>.png``
            (the ranges' confusion matrix, one per mode) are written there, atomically.

    Returns:
        ``(VideoLevelResult, table text)``.

    Raises:
        StadError: an unknown split or mode, a split without labelled ranges, a
            detections file without track ids or that does not match the ground truth,
            an output folder that cannot be written.
    """
    if split not in SPLITS:
        raise StadError(f'split must be one of {", ".join(SPLITS)}, got {split!r}')
    try:
        check_video_mode(mode)
    except ValueError as e:
        raise StadError(str(e)) from None
    if out_dir:
        check_writable(os.path.join(out_dir, 'results.json'))
    layout = DataLayout(data_root)
    gt = load_gt(layout.gt_file)
    videos = split_videos(gt)[split]
    ranges = labelled_ranges(gt, videos)
    if not ranges:
        raise StadError(f'{layout.gt_file}: the {split} split has no labelled range '
                        '(no ground-truth tube in its videos)')
    # the detections' video_index is re-indexed against this split's videos
    split_gt = {**gt, 'test_videos': [videos]}
    dets, track_ids = read_detections(detections_file, split_gt)
    if track_ids is None:
        raise StadError(f'{detections_file}: no track ids; video-level evaluation picks the '
                        'dominant person track: predict from proposals with tracks '
                        '(stad propose writes them, stad predict keeps them)')
    negative = gt.get('negative_labels', ())
    result = evaluate_video_level(ranges, dets, track_ids, videos=videos,
                                  labels=gt['labels'], image_sizes=gt['resolution'],
                                  mode=mode,
                                  negative_labels=negative)
    table = format_video_table(result, split=split)
    if out_dir:
        doc = dict(data_root=data_root, detections=detections_file, split=split,
                   **result.to_dict())
        for m in result.modes:
            r = result.ranges[m]
            save_confusion_png(r, os.path.join(out_dir, f'confusion_{m}.png'),
                               title=f'{m}: {r.correct}/{r.n} ranges right '
                                     f'({100 * r.accuracy:.1f}%), split {split}')
        atomic_write_text(os.path.join(out_dir, 'results.json'), json.dumps(doc, indent=2) + '\n')
        atomic_write_text(os.path.join(out_dir, 'table.txt'), table + '\n')
    return result, table
