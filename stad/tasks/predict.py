"""``stad predict``: an action checkpoint + proposals -> the detections file ``stad eval``
reads (``stad run``'s eval stage runs the same function).

:func:`predict_dataset` runs the action model over a split's videos at the frames the
frame mode names, batched per video (:func:`stad.apis.action.predict_keyframes`);
:func:`predict` writes the result with :func:`stad.io.detections.save_detections`.
"""
from __future__ import annotations

import os
from typing import Iterator, Mapping

import numpy as np

from stad.apis.action import ActionModel, load_action_model, predict_keyframes, proposal_mask
from stad.data.gt import load_gt
from stad.errors import StadError
from stad.evaluation.functional.multisports import check_mode
from stad.io.atomic import check_writable
from stad.io.ava_csv import read_keyframes
from stad.io.detections import save_detections
from stad.io.layout import GT_SPLIT_KEYS, DataLayout, parse_img_key, tracks_file
from stad.io.proposals import load_proposals, load_tracks
from stad.io.video import open_video
from stad.progress import progress_bar


def iter_video_keyframes(proposals: Mapping[str, np.ndarray],
                         keyframes: Mapping[str, set[int]] | None = None,
                         tracks: Mapping[str, np.ndarray] | None = None
                         ) -> Iterator[tuple[str, list[int], list[np.ndarray], list[np.ndarray]]]:
    """Group a proposal dict by video: ``(video, sorted keyframes, their proposals,
    their boxes' track ids)`` (ids 0 without ``tracks``).

    With ``keyframes``, only those frames (and a frame without proposals gets an empty
    array); otherwise every frame of the proposal dict.
    """
    by_video: dict[str, dict[int, tuple]] = {}
    for key, arr in proposals.items():
        video, frame = parse_img_key(key)
        arr = np.asarray(arr)
        ids = tracks[key] if tracks is not None else np.zeros(len(arr), np.int64)
        by_video.setdefault(video, {})[frame] = (arr, ids)
    videos = sorted(keyframes) if keyframes is not None else sorted(by_video)
    empty = (np.zeros((0, 5)), np.zeros(0, np.int64))
    for video in videos:
        have = by_video.get(video, {})
        frames = sorted(keyframes[video]) if keyframes is not None else sorted(have)
        yield (video, frames, [have.get(f, empty)[0] for f in frames],
               [have.get(f, empty)[1] for f in frames])


# AVADataset gives a keyframe without proposals one whole-frame box (score 1).
_WHOLE_FRAME = np.array([[0., 0., 1., 1., 1.]])


def predict_dataset(am: ActionModel, data_root: str, *, split: str = 'val',
                    proposal_file: str | None = None, frames: str = 'annotated_frames',
                    all_classes: bool = True, det_score: bool = True,
                    batch_size: int = 8, progress: bool = True,
                    return_track_ids: bool = False, gt: dict | None = None):
    """Run the action model over a split's videos and proposals; detections for eval.

    Args:
        am: from :func:`load_action_model`.
        data_root: dataset root in stad's layout (``stad/io/layout.py``).
        split: ``'train'`` or ``'val'``; videos are those of the split's ground truth
            (``test_videos`` for val).
        proposal_file: proposal pickle ``{img_key: (N, 5) normalized boxes + score}``;
            default ``annotations/multisports_proposals_<split>.pkl`` of ``data_root``.
            Boxes are selected with the config's ``person_det_score_thr`` as
            AVADataset does.
        frames: the frame mode (:func:`stad.evaluation.functional.multisports.check_mode`):
            ``'annotated_frames'`` predicts on the keyframes of the split's CSV (what
            mmaction2's val loop does; a keyframe without proposals gets one
            whole-frame box, as in AVADataset); ``'all_frames'`` on every frame with proposals
            (the official protocol's false positives on background frames count then).
        all_classes: one detection per box and class (``True``, the default: what a
            detector is scored on, every class ranked by its own score) or one per box
            with its best class (``False``, as mmaction2's MultiSportsMetric). On the
            synthetic val split the first gives clearly higher frame-mAP (docs/evaluation.md).
        det_score: score = action probability x the proposal's detector score (``True``,
            the default: P(person) x P(action | person), so that doubtful boxes rank
            low on every frame of the all-frames protocol), or the action probability
            alone (``False``, as mmaction2). Needs ``(N, 5)`` proposals; with ``(N, 4)``
            ones the detector score is taken as 1.
        batch_size: keyframes per forward pass.
        progress: show a progress bar over videos.

        gt: ``data_root``'s ground truth if the caller has it loaded already.
        return_track_ids: also return the person track id of every row ``(N,)``
            (:func:`stad.io.proposals.load_tracks` of the proposal file's sidecar written
            by ``stad propose``; 0 where no track follows a box; ``None`` when the
            proposals have no sidecar).

    Returns:
        ``(N, 8)`` float64 array (and the ``(N,)`` track ids with ``return_track_ids``) with the columns of
        ``stad.evaluation.functional.multisports.DET_COLUMNS``: video index into the
        ground truth's split list, 1-based frame, 0-based label, score, x1, y1, x2, y2
        in pixels of the original video.

    Raises:
        StadError: missing files, a split video missing, or one shorter than the clip.
    """
    if split not in GT_SPLIT_KEYS:
        raise StadError(f'split must be one of {sorted(GT_SPLIT_KEYS)}, got {split!r}')
    try:
        frames = check_mode(frames)
    except ValueError as e:
        raise StadError(str(e)) from None
    layout = DataLayout(data_root)
    gt = gt if gt is not None else load_gt(layout.gt_file)
    split_list = gt.get(GT_SPLIT_KEYS[split])
    if not split_list:
        raise StadError(f'{layout.gt_file}: no {GT_SPLIT_KEYS[split]} list')
    videos = list(split_list[0])
    index = {v: i for i, v in enumerate(videos)}
    proposal_file = proposal_file or layout.proposals(split)
    proposals = load_proposals(proposal_file)
    tracks = (load_tracks(tracks_file(proposal_file), proposals)
              if os.path.isfile(tracks_file(proposal_file)) else None)
    if frames == 'annotated_frames':
        keyframes = read_keyframes(layout.csv(split))
    else:
        keyframes = {}
        for key in proposals:
            v, f = parse_img_key(key)
            keyframes.setdefault(v, set()).add(f)
    keyframes = {v: f for v, f in keyframes.items() if v in index}

    rows, row_ids = [], []
    items = list(iter_video_keyframes(proposals, keyframes, tracks))
    if progress:
        items = progress_bar(items, desc=f'action {split}', unit='video')
    for video, kfs, props, ids in items:
        if frames == 'annotated_frames':
            ids = [i if len(p) else np.zeros(1, np.int64) for p, i in zip(props, ids)]
            props = [p if len(p) else _WHOLE_FRAME for p in props]
        keep = [proposal_mask(p, am.person_det_score_thr) for p in props]
        props = [p[k] for p, k in zip(props, keep)]
        ids = [i[k] for i, k in zip(ids, keep)]
        reader = open_video(layout.video_path(video))
        # pixels as the evaluation sees them: the ground truth's resolution
        h, w = gt['resolution'][video]
        scores = predict_keyframes(am, reader, kfs, props, batch_size=batch_size,
                                   video=video)
        for kf, p, sc, tid in zip(kfs, props, scores, ids):
            if not len(p):
                continue
            if det_score and p.shape[1] == 5:
                sc = sc * p[:, 4:5]
            px = p[:, :4] * np.array([w, h, w, h])
            if all_classes:
                for c in range(sc.shape[1]):
                    rows.append(np.column_stack([
                        np.full(len(p), index[video]), np.full(len(p), kf),
                        np.full(len(p), c), sc[:, c], px]))
                    row_ids.append(tid)
            else:
                best = sc.argmax(1)
                rows.append(np.column_stack([
                    np.full(len(p), index[video]), np.full(len(p), kf), best,
                    sc[np.arange(len(p)), best], px]))
                row_ids.append(tid)
    dets = np.concatenate(rows).astype(np.float64) if rows else np.zeros((0, 8))
    if return_track_ids:
        if tracks is None:
            return dets, None
        return dets, (np.concatenate(row_ids).astype(np.int64) if row_ids
                      else np.zeros(0, np.int64))
    return dets


def predict(config: str, checkpoint: str, data_root: str, out: str, *,
            proposal_file: str | None = None, frames: str = 'all_frames',
            device: str = 'cpu', progress: bool = True, backend: str = 'torch',
            onnx_dir: str | None = None, precision: str = 'f32') -> np.ndarray:
    """Predict the val split of ``data_root`` and write the detections file ``out``
    (format 1 of :mod:`stad.io.detections`, what ``stad eval --dets`` reads).

    Args:
        config, checkpoint: the mmaction2 action model.
        data_root: dataset root in stad's layout.
        out: the detections pickle to write (atomically).
        proposal_file: default ``annotations/multisports_proposals_val.pkl``.
        frames: ``'all_frames'`` (every frame with proposals, the official protocol's
            input, default) or ``'annotated_frames'`` (the CSV's keyframes).
        backend, onnx_dir, precision: where the action model runs
            (:func:`stad.apis.action.load_action_model`).

    Returns:
        ``(dets, track_ids)`` as written: the ``(N, 8)`` detections and their ``(N,)``
        track ids (``None`` without a tracks sidecar).

    Raises:
        StadError: missing files, a bad checkpoint, or an output folder that cannot be
            written (checked before any prediction).
    """
    check_writable(out)
    am = load_action_model(config, checkpoint, device=device, backend=backend,
                           onnx_dir=onnx_dir, precision=precision)
    gt = load_gt(DataLayout(data_root).gt_file)
    dets, ids = predict_dataset(am, data_root, split='val', proposal_file=proposal_file,
                                frames=frames, progress=progress, return_track_ids=True,
                                gt=gt)
    save_detections(out, gt, dets, track_ids=ids)
    return dets, ids
