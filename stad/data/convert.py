"""Converters from MultiSports ground truth (and detector output) to what mmdet and
mmaction2 read. Pure functions: they never modify their inputs.

* :func:`to_coco` -> COCO person detection json (mmdet ``CocoDataset``).
* :func:`to_ava_csv` -> AVA-style action csv (mmaction2 ``AVADataset``), and
  :func:`label_map_text` -> its label map.
* :func:`detections_to_proposals` / :func:`mmdet_results_to_detections` -> proposal
  pickles keyed by :func:`layout.img_key`.
* :func:`convert_gt` writes the COCO, CSV and label-map files of a dataset root.

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

import json
import os
from typing import Any, Iterable, Mapping

import numpy as np

from ..errors import StadError
from ..io import atomic_dump_pickle, atomic_write_text
from .gt import load_gt, split_videos
from .layout import SPLITS, VIDEO_EXT, DataLayout, frame_relpath, img_key

PERSON_CATEGORY = {'id': 0, 'name': 'person'}


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, got {split!r}')


def _clip(box: np.ndarray, w: float, h: float) -> np.ndarray:
    return np.clip(box, 0, [w, h, w, h])


def _frame_boxes(gt: Mapping, video: str) -> dict[int, list[tuple[int, int, np.ndarray]]]:
    """{frame: [(label, entity_id, box pixels clipped)]} of one video, frames sorted."""
    h, w = (float(x) for x in gt['resolution'][video])
    out: dict[int, list] = {}
    entity = 0
    for label in sorted(gt['gttubes'].get(video, {})):
        for tube in gt['gttubes'][video][label]:
            arr = np.asarray(tube, dtype=np.float64)  # a copy when dtype differs; never written
            for row in arr:
                out.setdefault(int(row[0]), []).append(
                    (int(label), entity, _clip(row[1:5].copy(), w, h)))
            entity += 1
    return dict(sorted(out.items()))


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
        for frame, boxes in _frame_boxes(gt, video).items():
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
        for frame, boxes in _frame_boxes(gt, video).items():
            for label, entity, box in boxes:
                x1, y1, x2, y2 = (float(v) for v in box / scale)
                rows.append((video + VIDEO_EXT, frame, x1, y1, x2, y2, label, entity))
    return rows


def to_ava_csv(gt: Mapping, split: str) -> str:
    """The AVA-style csv text of one split (rows of :func:`ava_rows`, 3 decimals)."""
    return ''.join(f'{v},{f},{x1:.3f},{y1:.3f},{x2:.3f},{y2:.3f},{lab},{ent}\n'
                   for v, f, x1, y1, x2, y2, lab, ent in ava_rows(gt, split))


def label_map_text(labels: Iterable[str]) -> str:
    """``'id: name'`` per line, ids = label indices as in the CSV."""
    return ''.join(f'{i}: {name}\n' for i, name in enumerate(labels))


def convert_gt(layout: DataLayout, gt_file: str | None = None) -> dict[str, str]:
    """Write COCO json and AVA csv per split and the label map (all atomically).

    Args:
        layout: dataset root whose ``annotations/`` receives the files.
        gt_file: ground truth to convert; default ``layout.gt_file``.

    Returns:
        {description: path} of the files written.
    """
    gt = load_gt(gt_file or layout.gt_file)
    written = {}
    for split in SPLITS:
        coco = to_coco(gt, split)
        atomic_write_text(layout.coco(split), json.dumps(coco))
        written[f'coco {split} ({len(coco["images"])} images, '
                f'{len(coco["annotations"])} boxes)'] = layout.coco(split)
        text = to_ava_csv(gt, split)
        atomic_write_text(layout.csv(split), text)
        written[f'csv {split} ({text.count(chr(10))} rows)'] = layout.csv(split)
    atomic_write_text(layout.label_map, label_map_text(gt['labels']))
    written[f'label map ({len(gt["labels"])} classes)'] = layout.label_map
    return written


# -------------------------------------------------------------------------- proposals

def detections_to_proposals(detections: Mapping[tuple[str, int], Any], gt: Mapping, *,
                            layout: DataLayout | None = None,
                            ) -> dict[str, dict[str, np.ndarray]]:
    """Per-frame person detections -> proposal dicts per split.

    Args:
        detections: ``{(video, frame): array (N, 5)}`` x1, y1, x2, y2 in pixels, score;
            ``video`` is ``'<sport>/<video>'``, ``frame`` 1-based.
        gt: the ground truth (resolution and splits).
        layout: if given, write each split to ``layout.proposals(split)`` with
            :func:`stad.io.atomic_dump_pickle`.

    Returns:
        ``{split: {img_key: float32 array (N, 5)}}`` with x1, y1, x2, y2 normalised to
        [0, 1] (clipped) and the score; keys from :func:`layout.img_key`. Detections of
        videos in no split are dropped.
    """
    splits = split_videos(gt)
    split_of = {v: s for s in SPLITS for v in splits[s]}
    out: dict[str, dict[str, np.ndarray]] = {s: {} for s in SPLITS}
    for (video, frame), dets in detections.items():
        split = split_of.get(video)
        if split is None:
            continue
        if video not in gt['resolution']:
            raise StadError(f"detections: video {video!r} has no 'resolution' in the "
                            'ground truth')
        h, w = (float(x) for x in gt['resolution'][video])
        arr = np.array(dets, dtype=np.float32).reshape(-1, 5)  # a copy
        arr[:, :4] = np.clip(arr[:, :4] / np.array([w, h, w, h], np.float32), 0, 1)
        out[split][img_key(video, int(frame))] = arr
    for split in SPLITS:
        out[split] = dict(sorted(out[split].items()))
        if layout is not None:
            atomic_dump_pickle(out[split], layout.proposals(split))
    return out


def _numpy(x) -> np.ndarray:
    if hasattr(x, 'detach'):  # torch tensor
        x = x.detach().cpu().numpy()
    return np.asarray(x)


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


def mmdet_results_to_detections(results: Iterable[Mapping]) -> dict[tuple[str, int], np.ndarray]:
    """mmdet ``mim test --out`` results -> ``{(video, frame): array (N, 5) pixels, score}``.

    Each result is a dict with ``img_path`` (``.../<sport>/<video>/00042.jpg``) and
    ``pred_instances`` holding ``bboxes`` (N, 4) pixels and ``scores`` (N,) (tensors or
    arrays), as mmdet 3 dumps them. Boxes are in the original image's pixels
    (``ori_shape``), which is what :func:`detections_to_proposals` expects.
    """
    out = {}
    for r in results:
        key = video_frame_of_path(r['img_path'])
        pred = r['pred_instances']
        boxes = _numpy(pred['bboxes']).astype(np.float32).reshape(-1, 4)
        scores = _numpy(pred['scores']).astype(np.float32).reshape(-1, 1)
        out[key] = np.concatenate([boxes, scores], axis=1)
    return out
