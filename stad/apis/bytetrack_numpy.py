"""ByteTrack in numpy: a line-for-line port of mmdet 3.3's ``ByteTracker`` and the parts
of ``KalmanFilter`` it uses, for one class (person).

Ported from ``mmdet/models/trackers/byte_tracker.py`` (``ByteTracker``: ``track``,
``assign_ids``, ``init_track``, ``update_track``, ``pop_invalid_tracks``),
``mmdet/models/trackers/base_tracker.py`` (``BaseTracker.reset`` / ``update``),
``mmdet/models/task_modules/tracking/kalman_filter.py`` (``KalmanFilter.initiate`` /
``predict`` / ``project`` / ``update``, copied as they are) and
``mmdet/structures/bbox`` (``bbox_overlaps`` in mode ``'iou'`` with ``eps=1e-6``,
``bbox_xyxy_to_cxcyah`` / ``bbox_cxcyah_to_xyxy``); mmdet is Apache-2.0, (c) OpenMMLab.

Why it exists: the project uses maintained libraries and says why when it writes its own.
mmdet's ByteTracker works on torch tensors and lives in ``mmdet.models``: importing torch
and mmdet costs about 4 s of start-up, for a demo on ONNX Runtime / OpenVINO that
otherwise needs neither (``stad.apis.tracking.make_tracker(engine='numpy')``). This
module imports numpy, scipy and lap only (what mmdet's tracker itself associates and
filters with), never torch, mmdet or mmengine.

Same results: every step keeps mmdet's order of operations and dtypes -- box and IoU
arithmetic in float32 as mmdet's tensors (thresholds cast to float32 as torch compares a
float32 tensor with a Python float), the Kalman filter in numpy as mmdet runs it, the
same ``lap.lapjv(extend_cost=True, cost_limit=1 - thr)`` calls on the same float32 cost
matrices -- so the IDs equal mmdet's on the same input; ``tests/apis/test_tracking_numpy.py``
checks it on random sequences. Not ported: labels (one class: mmdet's category cost is 0
throughout), ``momentums`` (None in ByteTracker), the NSA Kalman filter and gating
(ByteTracker uses neither).
"""
from __future__ import annotations

from dataclasses import dataclass

import lap
import numpy as np
import scipy.linalg


class KalmanFilter:
    """mmdet's ``KalmanFilter`` (``center_only=False``, ``use_nsa=False``): constant
    velocity in ``(cx, cy, a, h)``, as DeepSORT's; the code of the methods ByteTracker
    calls, unchanged."""

    def __init__(self):
        ndim, dt = 4, 1.

        # Create Kalman filter model matrices.
        self._motion_mat = np.eye(2 * ndim, 2 * ndim)
        for i in range(ndim):
            self._motion_mat[i, ndim + i] = dt
        self._update_mat = np.eye(ndim, 2 * ndim)

        # Motion and observation uncertainty are chosen relative to the current
        # state estimate (mmdet's weights).
        self._std_weight_position = 1. / 20
        self._std_weight_velocity = 1. / 160

    def initiate(self, measurement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A new track's mean ``(8,)`` and covariance ``(8, 8)`` from a measurement
        ``(cx, cy, a, h)``; velocities 0."""
        mean_pos = measurement
        mean_vel = np.zeros_like(mean_pos)
        mean = np.r_[mean_pos, mean_vel]

        std = [
            2 * self._std_weight_position * measurement[3],
            2 * self._std_weight_position * measurement[3], 1e-2,
            2 * self._std_weight_position * measurement[3],
            10 * self._std_weight_velocity * measurement[3],
            10 * self._std_weight_velocity * measurement[3], 1e-5,
            10 * self._std_weight_velocity * measurement[3]
        ]
        covariance = np.diag(np.square(std))
        return mean, covariance

    def predict(self, mean: np.ndarray,
                covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One step of the motion model."""
        std_pos = [
            self._std_weight_position * mean[3],
            self._std_weight_position * mean[3], 1e-2,
            self._std_weight_position * mean[3]
        ]
        std_vel = [
            self._std_weight_velocity * mean[3],
            self._std_weight_velocity * mean[3], 1e-5,
            self._std_weight_velocity * mean[3]
        ]
        motion_cov = np.diag(np.square(np.r_[std_pos, std_vel]))

        mean = np.dot(self._motion_mat, mean)
        covariance = np.linalg.multi_dot(
            (self._motion_mat, covariance, self._motion_mat.T)) + motion_cov

        return mean, covariance

    def project(self, mean: np.ndarray,
                covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The state distribution in measurement space."""
        std = [
            self._std_weight_position * mean[3],
            self._std_weight_position * mean[3], 1e-1,
            self._std_weight_position * mean[3]
        ]
        innovation_cov = np.diag(np.square(std))

        mean = np.dot(self._update_mat, mean)
        covariance = np.linalg.multi_dot(
            (self._update_mat, covariance, self._update_mat.T))
        return mean, covariance + innovation_cov

    def update(self, mean: np.ndarray, covariance: np.ndarray,
               measurement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The correction step with a measurement ``(cx, cy, a, h)``."""
        projected_mean, projected_cov = self.project(mean, covariance)

        chol_factor, lower = scipy.linalg.cho_factor(
            projected_cov, lower=True, check_finite=False)
        kalman_gain = scipy.linalg.cho_solve((chol_factor, lower),
                                             np.dot(covariance,
                                                    self._update_mat.T).T,
                                             check_finite=False).T
        innovation = measurement - projected_mean

        new_mean = mean + np.dot(innovation, kalman_gain.T)
        new_covariance = covariance - np.linalg.multi_dot(
            (kalman_gain, projected_cov, kalman_gain.T))
        return new_mean, new_covariance


def bbox_xyxy_to_cxcyah(bboxes: np.ndarray) -> np.ndarray:
    """``(N, 4)`` float32 ``(x1, y1, x2, y2)`` -> ``(cx, cy, w / h, h)``, as mmdet's."""
    cx = (bboxes[:, 2] + bboxes[:, 0]) / 2
    cy = (bboxes[:, 3] + bboxes[:, 1]) / 2
    w = bboxes[:, 2] - bboxes[:, 0]
    h = bboxes[:, 3] - bboxes[:, 1]
    return np.stack([cx, cy, w / h, h], -1)


def bbox_cxcyah_to_xyxy(bboxes: np.ndarray) -> np.ndarray:
    """``(N, 4)`` ``(cx, cy, a, h)`` -> ``(x1, y1, x2, y2)``, as mmdet's."""
    cx, cy, ratio, h = np.split(bboxes, 4, axis=-1)
    w = ratio * h
    return np.concatenate([cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0], -1)


def bbox_overlaps(bboxes1: np.ndarray, bboxes2: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """IoU ``(N, M)`` of two float32 box sets, mmdet's ``bbox_overlaps(mode='iou')``
    operation for operation (the union is at least ``eps``)."""
    rows, cols = len(bboxes1), len(bboxes2)
    if rows * cols == 0:
        return np.zeros((rows, cols), bboxes1.dtype)
    area1 = (bboxes1[..., 2] - bboxes1[..., 0]) * (bboxes1[..., 3] - bboxes1[..., 1])
    area2 = (bboxes2[..., 2] - bboxes2[..., 0]) * (bboxes2[..., 3] - bboxes2[..., 1])
    lt = np.maximum(bboxes1[..., :, None, :2], bboxes2[..., None, :, :2])
    rb = np.minimum(bboxes1[..., :, None, 2:], bboxes2[..., None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    overlap = wh[..., 0] * wh[..., 1]
    union = area1[..., None] + area2[..., None, :] - overlap
    union = np.maximum(union, np.asarray(eps, dtype=union.dtype))
    return overlap / union


@dataclass
class Track:
    """What mmdet's tracker keeps of a track and ByteTrack reads: the frame it was last
    seen on, how many boxes it holds (mmdet's ``len(track.bboxes)``), whether it is
    tentative, and its Kalman state."""
    last_frame: int
    num_boxes: int
    tentative: bool
    mean: np.ndarray
    covariance: np.ndarray


class ByteTracker:
    """mmdet 3.3's ``ByteTracker`` on numpy arrays, one class.

    Args:
        obj_score_thrs: ``high``: score of the first association (and of new tracks once
            the tracker holds some); ``low``: minimum score of the second association.
        init_track_thr: score a box needs to start a track when the tracker holds none.
        weight_iou_with_det_scores: multiply the IoU by the box score in the first and
            the tentative associations.
        match_iou_thrs: minimum IoU of the ``high`` (first), ``low`` (second) and
            ``tentative`` associations.
        num_tentatives: number of consecutive updates that confirm a track started after
            frame 0.
        num_frames_retain: a track unseen for this many frames is dropped.

    Attributes:
        tracks: ``{id: Track}`` in mmdet's order (insertion), ids from 0.
        num_tracks: ids handed out so far.
    """

    def __init__(self, obj_score_thrs: dict | None = None, init_track_thr: float = 0.7,
                 weight_iou_with_det_scores: bool = True,
                 match_iou_thrs: dict | None = None, num_tentatives: int = 3,
                 num_frames_retain: int = 10):
        self.obj_score_thrs = dict(high=0.6, low=0.1) if obj_score_thrs is None \
            else obj_score_thrs
        self.init_track_thr = init_track_thr
        self.weight_iou_with_det_scores = weight_iou_with_det_scores
        self.match_iou_thrs = dict(high=0.1, low=0.5, tentative=0.3) \
            if match_iou_thrs is None else match_iou_thrs
        self.num_tentatives = num_tentatives
        self.num_frames_retain = num_frames_retain
        self.kf = KalmanFilter()
        self.reset()

    def reset(self) -> None:
        """Forget every track; ids start at 0 again."""
        self.num_tracks = 0
        self.tracks: dict[int, Track] = {}

    @property
    def confirmed_ids(self) -> list[int]:
        return [id for id, track in self.tracks.items() if not track.tentative]

    @property
    def unconfirmed_ids(self) -> list[int]:
        return [id for id, track in self.tracks.items() if track.tentative]

    def init_track(self, id: int, bbox: np.ndarray, frame_id: int) -> None:
        """Start track ``id`` at a float32 box ``(4,)``: confirmed on frame 0, tentative
        after."""
        mean, covariance = self.kf.initiate(bbox_xyxy_to_cxcyah(bbox[None])[0])
        self.tracks[id] = Track(last_frame=frame_id, num_boxes=1,
                                tentative=frame_id != 0, mean=mean, covariance=covariance)

    def update_track(self, id: int, bbox: np.ndarray, frame_id: int) -> None:
        """Continue track ``id`` with a float32 box ``(4,)``."""
        track = self.tracks[id]
        track.last_frame = frame_id
        track.num_boxes += 1
        if track.tentative and track.num_boxes >= self.num_tentatives:
            track.tentative = False
        track.mean, track.covariance = self.kf.update(
            track.mean, track.covariance, bbox_xyxy_to_cxcyah(bbox[None])[0])

    def pop_invalid_tracks(self, frame_id: int) -> None:
        """Drop the tracks unseen for ``num_frames_retain`` frames and the tentative ones
        not matched on this frame."""
        for k in [k for k, v in self.tracks.items()
                  if frame_id - v.last_frame >= self.num_frames_retain
                  or (v.tentative and v.last_frame != frame_id)]:
            self.tracks.pop(k)

    def assign_ids(self, ids: list[int], det_bboxes: np.ndarray, det_scores: np.ndarray,
                   weight_iou_with_det_scores: bool = False,
                   match_iou_thr: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
        """Match tracks ``ids`` (their predicted boxes) with boxes: ``(row, col)`` of
        lap's ``lapjv``, the box of each track and the track (index into ``ids``) of each
        box, -1 for none."""
        track_bboxes = np.zeros((0, 4))
        for id in ids:
            track_bboxes = np.concatenate((track_bboxes, self.tracks[id].mean[:4][None]),
                                          axis=0)
        track_bboxes = bbox_cxcyah_to_xyxy(track_bboxes.astype(det_bboxes.dtype))

        ious = bbox_overlaps(track_bboxes, det_bboxes)
        if weight_iou_with_det_scores:
            ious *= det_scores
        dists = 1 - ious  # mmdet adds a category cost: 0, one class

        if dists.size > 0:
            cost, row, col = lap.lapjv(dists, extend_cost=True,
                                       cost_limit=1 - match_iou_thr)
        else:
            row = np.zeros(len(ids)).astype(np.int32) - 1
            col = np.zeros(len(det_bboxes)).astype(np.int32) - 1
        return row, col

    def track(self, bboxes: np.ndarray, scores: np.ndarray,
              frame_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One frame: boxes ``(N, 4)`` and scores ``(N,)`` (float32) on frame
        ``frame_id`` (0 resets the tracker).

        Returns:
            mmdet's output: the boxes put in a track ``(K, 4)``, their scores ``(K,)``
            (copies of input rows, regrouped by association stage) and track ids ``(K,)``
            int64.
        """
        bboxes = np.asarray(bboxes, dtype=np.float32).reshape(-1, 4)
        scores = np.asarray(scores, dtype=np.float32).reshape(-1)
        high = np.float32(self.obj_score_thrs['high'])
        low = np.float32(self.obj_score_thrs['low'])
        if frame_id == 0:
            self.reset()

        if not self.tracks or len(bboxes) == 0:
            valid_inds = scores > np.float32(self.init_track_thr)
            scores = scores[valid_inds]
            bboxes = bboxes[valid_inds]
            num_new_tracks = len(bboxes)
            ids = np.arange(self.num_tracks, self.num_tracks + num_new_tracks,
                            dtype=np.int64)
            self.num_tracks += num_new_tracks

        else:
            # 0. init
            ids = np.full(len(bboxes), -1, dtype=np.int64)

            # the detection bboxes of the first association
            first_det_inds = scores > high
            first_det_bboxes = bboxes[first_det_inds]
            first_det_scores = scores[first_det_inds]
            first_det_ids = ids[first_det_inds]

            # the detection bboxes of the second association
            second_det_inds = (~first_det_inds) & (scores > low)
            second_det_bboxes = bboxes[second_det_inds]
            second_det_scores = scores[second_det_inds]
            second_det_ids = ids[second_det_inds]

            # 1. Kalman Filter prediction of the confirmed tracks
            for id in self.confirmed_ids:
                # track is lost in previous frame
                if self.tracks[id].last_frame != frame_id - 1:
                    self.tracks[id].mean[7] = 0
                (self.tracks[id].mean,
                 self.tracks[id].covariance) = self.kf.predict(
                     self.tracks[id].mean, self.tracks[id].covariance)

            # 2. first match
            first_match_track_inds, first_match_det_inds = self.assign_ids(
                self.confirmed_ids, first_det_bboxes, first_det_scores,
                self.weight_iou_with_det_scores, self.match_iou_thrs['high'])
            valid = first_match_det_inds > -1
            first_det_ids[valid] = np.asarray(
                self.confirmed_ids, dtype=np.int64)[first_match_det_inds[valid]]

            first_match_det_bboxes = first_det_bboxes[valid]
            first_match_det_scores = first_det_scores[valid]
            first_match_det_ids = first_det_ids[valid]

            first_unmatch_det_bboxes = first_det_bboxes[~valid]
            first_unmatch_det_scores = first_det_scores[~valid]
            first_unmatch_det_ids = first_det_ids[~valid]

            # 3. the unmatched boxes of the first match against the unconfirmed tracks
            (tentative_match_track_inds,
             tentative_match_det_inds) = self.assign_ids(
                 self.unconfirmed_ids, first_unmatch_det_bboxes,
                 first_unmatch_det_scores, self.weight_iou_with_det_scores,
                 self.match_iou_thrs['tentative'])
            valid = tentative_match_det_inds > -1
            first_unmatch_det_ids[valid] = np.asarray(
                self.unconfirmed_ids, dtype=np.int64)[tentative_match_det_inds[valid]]

            # 4. second match for the tracks unmatched by the first one
            first_unmatch_track_ids = []
            for i, id in enumerate(self.confirmed_ids):
                # tracklet is not matched in the first match
                case_1 = first_match_track_inds[i] == -1
                # tracklet is not lost in the previous frame
                case_2 = self.tracks[id].last_frame == frame_id - 1
                if case_1 and case_2:
                    first_unmatch_track_ids.append(id)

            second_match_track_inds, second_match_det_inds = self.assign_ids(
                first_unmatch_track_ids, second_det_bboxes, second_det_scores, False,
                self.match_iou_thrs['low'])
            valid = second_match_det_inds > -1
            second_det_ids[valid] = np.asarray(
                first_unmatch_track_ids, dtype=np.int64)[second_match_det_inds[valid]]

            # 5. gather the matched boxes of steps 2-4 (of the second match, only the
            # matched ones)
            valid = second_det_ids > -1
            bboxes = np.concatenate((first_match_det_bboxes, first_unmatch_det_bboxes,
                                     second_det_bboxes[valid]), axis=0)
            scores = np.concatenate((first_match_det_scores, first_unmatch_det_scores,
                                     second_det_scores[valid]), axis=0)
            ids = np.concatenate((first_match_det_ids, first_unmatch_det_ids,
                                  second_det_ids[valid]), axis=0)

            # 6. new ids
            new_track_inds = ids == -1
            num_new = int(new_track_inds.sum())
            ids[new_track_inds] = np.arange(self.num_tracks, self.num_tracks + num_new)
            self.num_tracks += num_new

        # BaseTracker.update
        for id, bbox in zip(ids.tolist(), bboxes):
            if id in self.tracks:
                self.update_track(id, bbox, frame_id)
            else:
                self.init_track(id, bbox, frame_id)
        self.pop_invalid_tracks(frame_id)
        return bboxes, scores, ids
