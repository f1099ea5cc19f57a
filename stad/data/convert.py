"""Converters from MultiSports ground truth (and detector output) to what mmdet and
mmaction2 read. Pure functions: they never modify their inputs.

* :func:`to_coco` -> COCO person detection json (mmdet ``CocoDataset``).
* :func:`ava_rows` / :func:`to_ava_csv` -> AVA-style action csv (mmaction2
  ``AVADataset``, :mod:`stad.io.ava_csv`).
* :func:`detections_to_proposals` / :func:`mmdet_results_to_detections` -> proposal
  pickles (:mod:`stad.io.proposals`).
* :func:`convert_gt` writes the COCO, CSV and label-map files of a dataset root.

The file formats themselves (writers and readers) live in :mod:`stad.io`.

Deliberate differences from mmaction2's tutorial scripts (``generate_mmdet_anno.py``,
``parse_anno.py``, ``convert_proposals.py``):

* boxes are clipped to the image (real MultiSports boxes overshoot by a pixel or so);
  upstream writes them unclipped, so normalised CSV values could leave [0, 1].
* ``entity_id`` numbers the tubes of a video (0, 1, ... across all labels); upstream
  restarts at 0 for each label, so two people of one video could share an id.
* COCO images are one per annotated frame of the split's videos, ids in (video, frame)
  order, so outputs are deterministic.
* the train split falls back to "every video not in test_videos" when the ground truth
  lacks ``train_videos`` (see :func:`stad.data.gt.split_videos`).
"""
from __future__ import annotations

import os
from typing import Any, Iterable, Mapping

import numpy as np

from stad.data.gt import frame_boxes, load_gt, split_videos
from stad.errors import StadError
from stad.io.arrays import to_numpy
from stad.io.ava_csv import format_rows, write_csv
from stad.io.coco import write_coco
from stad.io.label_map import write_label_map
from stad.io.layout import SPLITS, VIDEO_EXT, DataLayout, frame_relpath
from stad.io.proposals import save_proposals, to_proposals

PERSON_CATEGORY = {'id': 0, 'name': 'person'}


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, got {split!r}')


def to_coco(gt: Mapping, split: str) -> dict:
    """COCO person annotations of one split.

    Args:
        gt: MultiSports ground truth (validated; see :func:`stad.data.gt.load_gt`).
        split: ``'train'`` or ``'val'`` (``train_videos`` / ``test_videos``).

    Returns:
        A COCO dict: one image per annotated frame (``file_name`` =
        ``'<sport>/<video>/00001.jpg'`` relative to the rawframes dir), one annotation
        per tube box (bbox x, y, w, h pixels, clipped to the image), one category
        ``{'id': 0, 'name': 'person'}`` as mmaction2's stad tutorial writes it.
    """
    _check_split(split)
    images, annotations = [], []
    for video in split_videos(gt)[split]:
        if video not in gt['gttubes']:
            continue
        h, w = (int(x) for x in gt['resolution'][video])
        for frame, boxes in frame_boxes(gt, video).items():
            image_id = len(images)
            images.append(dict(id=image_id, file_name=frame_relpath(video, frame),
                               width=w, height=h, video=video, frame=frame))
            for _, _, (x1, y1, x2, y2) in boxes:
                bw, bh = float(x2 - x1), float(y2 - y1)
                annotations.append(dict(
                    id=len(annotations), image_id=image_id, category_id=PERSON_CATEGORY['id'],
                    bbox=[round(float(x1), 2), round(float(y1), 2), round(bw, 2), round(bh, 2)],
                    area=round(bw * bh, 2), iscrowd=0))
    return dict(images=images, annotations=annotations, categories=[dict(PERSON_CATEGORY)])


def ava_rows(gt: Mapping, split: str) -> list[tuple]:
    """Rows ``(video, frame, x1, y1, x2, y2, label, entity_id)`` of one split.

    ``video`` is ``'<sport>/<video>.mp4'``, ``frame`` 1-based, boxes normalised to
    [0, 1] (clipped), ``label`` the gttubes label index (as mmaction2's parse_anno.py
    writes it, used with ``multilabel=False``), ``entity_id`` the tube's number within
    its video.
    """
    _check_split(split)
    rows = []
    for video in split_videos(gt)[split]:
        if video not in gt['gttubes']:
            continue
        h, w = (float(x) for x in gt['resolution'][video])
        scale = np.array([w, h, w, h])
        for frame, boxes in frame_boxes(gt, video).items():
            for label, entity, box in boxes:
                x1, y1, x2, y2 = (float(v) for v in box / scale)
                rows.append((video + VIDEO_EXT, frame, x1, y1, x2, y2, label, entity))
    return rows


def to_ava_csv(gt: Mapping, split: str) -> str:
    """The AVA-style csv text of one split (rows of :func:`ava_rows`)."""
    return format_rows(ava_rows(gt, split))


def convert_gt(layout: DataLayout, gt_file: str | None = None, *,
               gt: Mapping | None = None) -> dict[str, str]:
    """Write COCO json and AVA csv per split and the label map (all atomically).

    Args:
        layout: dataset root whose ``annotations/`` receives the files.
        gt_file: ground truth to convert; default ``layout.gt_file``.
        gt: that ground truth, if the caller has loaded (and validated) it already.

    Returns:
        {description: path} of the files written.
    """
    gt = gt if gt is not None else load_gt(gt_file or layout.gt_file)
    written = {}
    for split in SPLITS:
        coco = to_coco(gt, split)
        write_coco(layout.coco(split), coco)
        written[f'coco {split} ({len(coco["images"])} images, '
                f'{len(coco["annotations"])} boxes)'] = layout.coco(split)
        n = write_csv(layout.csv(split), ava_rows(gt, split))
        written[f'csv {split} ({n} rows)'] = layout.csv(split)
    write_label_map(layout.label_map, gt['labels'])
    written[f'label map ({len(gt["labels"])} classes)'] = layout.label_map
    return written


# -------------------------------------------------------------------------- proposals

def detections_to_proposals(detections: Mapping[tuple[str, int], Any], gt: Mapping, *,
                            sizes: Mapping | None = None,
                            layout: DataLayout | None = None,
                            ) -> dict[str, dict[str, np.ndarray]]:
    """Per-frame person detections -> proposal dicts per split.

    Args:
        detections: ``{(video, frame): array (N, 5)}`` x1, y1, x2, y2 in pixels, score;
            ``video`` is ``'<sport>/<video>'``, ``frame`` 1-based.
        gt: the ground truth (splits; and the frame size where ``sizes`` has none).
        sizes: ``(h, w)`` the boxes were measured in, per video or per
            ``(video, frame)`` (mmdet's ``ori_shape``); default ``gt['resolution']``.
        layout: if given, write each split to ``layout.proposals(split)`` atomically.

    Returns:
        ``{split: {img_key: float32 array (N, 5)}}`` (:mod:`stad.io.proposals`): boxes
        normalised to [0, 1] (clipped), frames without a box left out. Detections of
        videos in no split are dropped.

    Raises:
        StadError: a video of a split with no size in ``sizes`` nor the ground truth.
    """
    splits = split_videos(gt)
    split_of = {v: s for s in SPLITS for v in splits[s]}
    per_split: dict[str, dict] = {s: {} for s in SPLITS}
    for key, dets in detections.items():
        if key[0] in split_of:
            per_split[split_of[key[0]]][key] = dets
    size_of = {**gt['resolution'], **(sizes or {})}
    out = {s: to_proposals(per_split[s], size_of, where='detections') for s in SPLITS}
    if layout is not None:
        for split in SPLITS:
            save_proposals(layout.proposals(split), out[split])
    return out


def video_frame_of_path(path: str) -> tuple[str, int]:
    """``'.../rawframes/<sport>/<video>/00042.jpg'`` -> (``'<sport>/<video>'``, 42)."""
    parts = path.replace('\\', '/').split('/')
    if len(parts) < 3:
        raise StadError(f'{path}: expected .../<sport>/<video>/<frame>.jpg')
    stem = os.path.splitext(parts[-1])[0]
    try:
        return f'{parts[-3]}/{parts[-2]}', int(stem)
    except ValueError:
        raise StadError(f'{path}: frame file name is not a number') from None


def mmdet_results_to_detections(results: Iterable[Mapping]
                                ) -> tuple[dict[tuple[str, int], np.ndarray], dict]:
    """mmdet ``mim test --out`` results -> detections and the frame sizes they are in.

    Each result is a dict with ``img_path`` (``.../<sport>/<video>/00042.jpg``),
    ``ori_shape`` ``(h, w)`` and ``pred_instances`` holding ``bboxes`` (N, 4) pixels of
    that original image and ``scores`` (N,) (tensors or arrays), as mmdet 3 dumps them.

    Returns:
        ``({(video, frame): float32 (N, 5) pixels, score}, {(video, frame): (h, w)})``:
        pass both to :func:`detections_to_proposals` (``sizes=``), so that frames
        decoded at another size than the ground truth's are normalised by their own.
    """
    dets, sizes = {}, {}
    for i, r in enumerate(results):
        key = video_frame_of_path(r['img_path'])
        pred = r['pred_instances']
        boxes = to_numpy(pred['bboxes'], np.float32).reshape(-1, 4)
        scores = to_numpy(pred['scores'], np.float32).reshape(-1, 1)
        dets[key] = np.concatenate([boxes, scores], axis=1)
        if 'ori_shape' in r:
            sizes[key] = tuple(float(x) for x in r['ori_shape'][:2])
    return dets, sizes
