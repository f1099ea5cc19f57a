"""Pure numpy evaluation functions (no mmengine, no file I/O)."""
from stad.evaluation.functional.ap import pr_curve, voc_ap
from stad.evaluation.functional.iou import (
                          box_area,
                          iou_matrix,
                          iou_pairwise,
                          temporal_iou,
                          tube_iou,
)
from stad.evaluation.functional.multisports import (
                          DET_COLUMNS,
                          MODES,
                          MULTISPORTS_EXCLUDED,
                          VIDEO_AVG_THRS,
                          APResult,
                          MultiSportsResult,
                          Tube,
                          annotated_frame_mask,
                          evaluate_multisports,
                          excluded_classes,
                          frame_ap,
                          link_tubes,
                          select_mode,
                          video_ap,
)
from stad.evaluation.functional.track_tubes import (
                          TRACK_DEFAULTS,
                          check_track_ids,
                          smooth_track_scores,
                          tubes_from_tracks,
)

__all__ = [
    'pr_curve', 'voc_ap', 'box_area', 'iou_matrix', 'iou_pairwise', 'temporal_iou', 'tube_iou',
    'DET_COLUMNS', 'MODES', 'MULTISPORTS_EXCLUDED', 'VIDEO_AVG_THRS', 'APResult',
    'MultiSportsResult', 'Tube', 'annotated_frame_mask', 'evaluate_multisports',
    'excluded_classes', 'frame_ap', 'link_tubes', 'select_mode', 'video_ap',
    'TRACK_DEFAULTS', 'check_track_ids', 'smooth_track_scores',
    'tubes_from_tracks',
]
