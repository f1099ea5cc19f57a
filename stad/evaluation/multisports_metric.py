"""``stad.MultiSportsMAP``: the MultiSports frame/video mAP as an mmengine metric.

Drop-in for mmaction2's ``MultiSportsMetric`` in configs::

    val_evaluator = dict(type='stad.MultiSportsMAP', ann_file=gt_file)

It collects the AVA RoI head's per-box predictions the way ``MultiSportsMetric`` does
(one detection per box: its best class and score; boxes scaled to pixels with the
ground truth's resolution) but evaluates with :mod:`stad.evaluation.functional`:
correct tube scores, numpy 2, and the choice of frames (``mode``).
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from stad.data.gt import load_gt
from stad.evaluation.functional.multisports import Exclude, check_mode, evaluate_multisports
from stad.io.arrays import to_numpy
from stad.io.detections import detections_from_mmaction
from stad.registry import METRICS


@METRICS.register_module()
class MultiSportsMAP(BaseMetric):
    """frame-mAP and video-mAP of MultiSports (official protocol by default).

    Args:
        ann_file: MultiSports ground-truth pickle.
        mode: ``'all_frames'`` (default, the official protocol: a detection on a frame
            without ground truth is a false positive) or ``'annotated_frames'``
            (detections on frames without any ground-truth box are dropped, which is what
            mmaction2's CSV-driven evaluation amounts to). When the model only predicts on
            annotated frames (mmaction2's val CSV) both give the same numbers; when it
            predicts on every frame with proposals, only ``'all_frames'`` is comparable to
            published results -- hence the default.
        frame_thrs: frame-mAP IoU thresholds -> keys ``frameAP@<t>``.
        video_thrs: video-mAP IoU thresholds -> keys ``v_map@<t>``.
        video_avg: also ``v_map@0.1:0.9`` (mean over 0.1, ..., 0.9).
        exclude: ``'auto'`` (the six classes the protocol excludes, for the 66-class
            label set), ``None`` or a list of class names.
        min_tube_len: linked tubes shorter than this many frames are dropped (as
            mmaction2's ``tube_thr``).
        per_class: False: one detection per box (its best class), as mmaction2.
            True: one per box and class with score >= ``min_score``.
        min_score: see ``per_class``.
        verbose: log the per-class table.
    """

    default_prefix: Optional[str] = 'mAP'

    def __init__(self, ann_file: str, mode: str = 'all_frames',
                 frame_thrs: Sequence[float] = (0.5,), video_thrs: Sequence[float] = (0.2, 0.5),
                 video_avg: bool = True, exclude: Exclude = 'auto', min_tube_len: int = 15,
                 per_class: bool = False, min_score: float = 0.0, verbose: bool = True,
                 collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.mode = check_mode(mode)
        self.gt = load_gt(ann_file)
        self.frame_thrs = tuple(frame_thrs)
        self.video_thrs = tuple(video_thrs)
        self.video_avg = video_avg
        self.exclude = exclude
        self.min_tube_len = min_tube_len
        self.per_class = per_class
        self.min_score = min_score
        self.verbose = verbose
        self.last_result = None  # the MultiSportsResult of the last compute_metrics

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Keep ``[video, frame, bboxes (n, 4) normalised, scores (n, C)]`` per sample."""
        for pred in data_samples:
            inst = pred['pred_instances']
            self.results.append([pred['video_id'], int(pred['timestamp']),
                                 to_numpy(inst['bboxes']).astype(np.float32),
                                 to_numpy(inst['scores']).astype(np.float32)])

    def compute_metrics(self, results: list) -> dict:
        dets = detections_from_mmaction(results, self.gt, per_class=self.per_class,
                                        min_score=self.min_score)
        result = evaluate_multisports(
            self.gt, dets, mode=self.mode, frame_thrs=self.frame_thrs,
            video_thrs=self.video_thrs, video_avg=self.video_avg, exclude=self.exclude,
            min_tube_len=self.min_tube_len)
        self.last_result = result
        if self.verbose:
            from stad.evaluation.report import format_table
            MMLogger.get_current_instance().info('MultiSports evaluation\n'
                                                 + format_table(result))
        return {k: float(v) for k, v in result.summary().items()}
