"""MultiSports evaluation: pure functions (:mod:`.functional`), detection readers
(:mod:`.detections`), reports (:mod:`.report`) and the registered metric
``stad.MultiSportsMAP`` (:mod:`.multisports_metric`)."""
from .detections import (check_detections, detections_from_img_keys,
                         detections_from_indexed, detections_from_mmaction,
                         detections_from_object, load_detections, load_gt, save_detections)
from .functional import evaluate_multisports, frame_ap, link_tubes, video_ap
from .multisports_metric import MultiSportsMAP
from .report import evaluate_files, format_table, save_json, save_pr_curves
from .synthetic import synthetic_dets, synthetic_gt

__all__ = [
    'check_detections', 'detections_from_img_keys', 'detections_from_indexed',
    'detections_from_mmaction', 'detections_from_object', 'load_detections', 'load_gt',
    'save_detections', 'evaluate_multisports', 'frame_ap', 'link_tubes', 'video_ap',
    'MultiSportsMAP', 'evaluate_files', 'format_table', 'save_json', 'save_pr_curves',
    'synthetic_dets', 'synthetic_gt',
]
