"""How good are person proposals? Recall of ground-truth boxes, proposals per frame.

Pure functions on plain data (no model, no files): :func:`proposal_recall` for one set of
videos, :func:`proposal_report` per split, :func:`format_report` for printing.

Conventions: proposals are the pickles `stad propose` writes, ``{img_key: float32 (N, 5)}``
with x1, y1, x2, y2 normalised to [0, 1] and a score (see :mod:`stad.io.layout`);
ground truth is the MultiSports schema (:mod:`stad.data.gt`), boxes in pixels, frames
1-based.
"""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np

from stad.data.gt import frame_boxes, split_videos
from stad.evaluation.functional.iou import iou_matrix
from stad.io.layout import img_key, parse_img_key

IOU_THRS = (0.5, 0.7)


def gt_boxes_per_frame(gt: Mapping, videos: Iterable[str] | None = None
                       ) -> dict[str, np.ndarray]:
    """Normalised ground-truth person boxes per img_key: ``{key: float64 (M, 4)}``.

    A person doing several actions appears in several tubes with the same box; exact
    duplicates on one frame are counted once.
    """
    wanted = None if videos is None else set(videos)
    out = {}
    for video in gt['gttubes']:
        if wanted is not None and video not in wanted:
            continue
        h, w = (float(x) for x in gt['resolution'][video])
        scale = np.array([w, h, w, h])
        for frame, boxes in frame_boxes(gt, video).items():
            out[img_key(video, frame)] = np.unique(np.stack([b for _, _, b in boxes]) / scale,
                                                   axis=0)
    return out


def proposal_recall(proposals: Mapping[str, np.ndarray], gt: Mapping, *,
                    videos: Iterable[str] | None = None,
                    iou_thrs: Sequence[float] = IOU_THRS, stride: int = 1) -> dict:
    """Recall of the ground-truth boxes of ``videos`` by ``proposals``.

    A ground-truth box is recalled at IoU t if some proposal of its frame overlaps it
    with IoU >= t (scores are ignored: it measures what the action model will see).

    Args:
        proposals: ``{img_key: (N, 5) or (N, 4)}`` normalised boxes (not modified).
        gt: MultiSports ground truth (pixels).
        videos: the videos to score (default: every video of ``gt['gttubes']``).
            Proposals of other videos are ignored.
        iou_thrs: IoU thresholds.
        stride: the proposals were made on frames 1, 1 + stride, ... only (``stad
            propose --stride``): ground truth on the other frames is not counted.

    Returns:
        ``{'videos', 'gt_boxes', 'gt_frames', 'frames_with_proposals', 'proposals',
        'mean_proposals_per_frame', 'recall@0.5', 'recall@0.7', ...}``; recall is None
        when there is no ground-truth box. ``mean_proposals_per_frame`` averages over
        the frames the pickle holds for these videos.
    """
    videos = sorted(gt['gttubes']) if videos is None else sorted(set(videos))
    wanted = set(videos)
    gt_boxes = {key: boxes for key, boxes in gt_boxes_per_frame(gt, wanted).items()
                if (parse_img_key(key)[1] - 1) % stride == 0}
    hits = np.zeros(len(iou_thrs), dtype=np.int64)
    n_gt = 0
    for key, boxes in gt_boxes.items():
        n_gt += len(boxes)
        props = proposals.get(key)
        if props is None or len(props) == 0:
            continue
        best = iou_matrix(boxes, np.asarray(props)[:, :4]).max(axis=1)
        hits += np.array([(best >= t).sum() for t in iou_thrs])
    n_frames = n_props = 0
    for key, props in proposals.items():
        if parse_img_key(key)[0] in wanted:
            n_frames += 1
            n_props += len(props)
    out = dict(videos=len(videos), gt_boxes=n_gt, gt_frames=len(gt_boxes),
               frames_with_proposals=n_frames, proposals=n_props,
               mean_proposals_per_frame=n_props / n_frames if n_frames else 0.0)
    for t, h in zip(iou_thrs, hits):
        out[f'recall@{t:g}'] = float(h / n_gt) if n_gt else None
    return out


def proposal_report(proposals: Mapping[str, Mapping[str, np.ndarray]], gt: Mapping, *,
                    iou_thrs: Sequence[float] = IOU_THRS, stride: int = 1) -> dict[str, dict]:
    """:func:`proposal_recall` per split: ``proposals`` is ``{split: pickle content}``.

    A split's videos come from the ground truth (:func:`stad.data.gt.split_videos`);
    a split name the ground truth does not know (e.g. ``'all'``) is scored on every
    ground-truth video.
    """
    splits = split_videos(gt)
    return {split: proposal_recall(props, gt, videos=splits.get(split), iou_thrs=iou_thrs,
                                   stride=stride)
            for split, props in proposals.items()}


def format_report(report: Mapping[str, Mapping]) -> str:
    """A small text table of :func:`proposal_report`'s result, one line per split."""
    recall_keys = sorted({k for r in report.values() for k in r if k.startswith('recall@')})
    head = ['split', 'videos', 'gt boxes', *recall_keys, 'props/frame']
    rows = [head]
    for split, r in report.items():
        rows.append([split, str(r['videos']), str(r['gt_boxes']),
                     *('-' if r.get(k) is None else f'{r[k]:.3f}' for k in recall_keys),
                     f"{r['mean_proposals_per_frame']:.2f}"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return '\n'.join('  '.join(c.rjust(w) for c, w in zip(row, widths)) for row in rows)


def compare_proposals(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray], *,
                      width: float = 1.0, height: float = 1.0, min_iou: float = 0.5) -> dict:
    """How far apart two proposal sets of the same frames are.

    On each frame, every box of ``a`` is paired with its best-IoU box of ``b`` if that
    IoU is >= ``min_iou`` (the same person); the result is the largest coordinate
    difference over all pairs (scaled by ``width`` / ``height``: pass the frame size
    for normalised boxes to get pixels) and the largest score difference of pairs.

    Returns:
        ``{'frames', 'frames_count_differs', 'unpaired', 'max_box_diff',
        'max_score_diff'}``: ``frames_count_differs`` counts frames whose numbers of
        boxes differ, ``unpaired`` the boxes of ``a`` without a partner in ``b``.
    """
    scale = np.array([width, height, width, height])
    keys = sorted(set(a) | set(b))
    max_box = max_score = 0.0
    differs = unpaired = 0
    for k in keys:
        pa = np.asarray(a.get(k, np.zeros((0, 5))), dtype=np.float64)
        pb = np.asarray(b.get(k, np.zeros((0, 5))), dtype=np.float64)
        differs += len(pa) != len(pb)
        if not len(pa):
            continue
        if not len(pb):
            unpaired += len(pa)
            continue
        iou = iou_matrix(pa[:, :4], pb[:, :4])
        j = iou.argmax(axis=1)
        ok = iou[np.arange(len(pa)), j] >= min_iou
        unpaired += int((~ok).sum())
        if not ok.any():
            continue
        pa, pbj = pa[ok], pb[j[ok]]
        max_box = max(max_box, float((np.abs(pa[:, :4] - pbj[:, :4]) * scale).max()))
        if pa.shape[1] > 4 and pb.shape[1] > 4:
            max_score = max(max_score, float(np.abs(pa[:, 4] - pbj[:, 4]).max()))
    return dict(frames=len(keys), frames_count_differs=differs, unpaired=unpaired,
                max_box_diff=max_box, max_score_diff=max_score)
