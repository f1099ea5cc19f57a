"""Action model inference: (decoded frames, person boxes) -> class scores, clips batched.

The demo, ``stad eval`` and ``stad run`` call this instead of mmaction2's val loop, which
decodes one keyframe at a time and runs ``AVARoIHead.predict`` on batches of one
(docs/stack.md, bug 7). Here several keyframes of a video go through the backbone at
once and the RoI head runs on all their boxes together; the scores are those of
``model.test_step`` on the same keyframe (tests/action/test_action_api.py checks this).

Conventions:

* ``frames``: the decoded video, a ``uint8`` array ``(T, H, W, 3)`` in **RGB** (what
  decord returns), or a decord ``VideoReader`` (anything with ``len()`` and
  ``get_batch(indices).asnumpy()``).
* keyframes are **1-based** frame numbers, as in the ground truth and img keys.
* boxes are ``x1, y1, x2, y2``; ``normalized=True`` (the default, the proposal pickles'
  convention) means fractions of the frame width/height in ``[0, 1]``;
  ``normalized=False`` means pixels of the original frames. A fifth column (detector
  score) is ignored.
* clip: the config's test pipeline ``SampleAVAFrames(clip_len, frame_interval)`` centred
  on the keyframe, indices clamped to the video like mmaction2 does; then the
  pipeline's transforms after decoding (resize, format) and the model's data
  preprocessor (normalisation).
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from ..data.layout import MULTISPORTS_AVA_KWARGS, DataLayout, img_key, parse_img_key
from ..errors import StadError

# The test pipeline's frame decoding steps: clips index ``frames`` directly instead, and
# the steps after the last of these build the model input.
_DECODE_STEPS = ('DecordDecode', 'CachedDecordDecode', 'OpenCVDecode', 'PyAVDecode',
                 'RawFrameDecode')


@dataclass(frozen=True)
class ActionModel:
    """A loaded action model and how its test pipeline builds a clip.

    Attributes:
        model: the mmdet ``FastRCNN`` (eval mode) with an AVA RoI head.
        cfg: the mmengine config it was built from.
        clip_len: frames per clip.
        frame_interval: step between clip frames.
        transforms: the test pipeline's transforms after frame decoding.
        num_classes: columns of the score arrays.
        class_names: names from the config's ``class_names`` if any, else ``None``.
        person_det_score_thr: the val dataset's proposal score threshold (AVADataset's
            ``person_det_score_thr``); :func:`select_proposals` applies it.
        flip_test: average each box's class probabilities with those of the mirrored
            clip and box (the config's ``stad_flip_test``; mmaction2's own test loop,
            ``mim test``, does not flip).
    """
    model: Any
    cfg: Any
    clip_len: int
    frame_interval: int
    transforms: tuple
    num_classes: int
    class_names: tuple | None
    person_det_score_thr: float
    flip_test: bool = False

    @property
    def clip_window(self) -> int:
        """Frames a clip spans, first to last sampled frame included."""
        return (self.clip_len - 1) * self.frame_interval + 1


def _test_pipeline(cfg) -> list:
    for key in ('test_dataloader', 'val_dataloader'):
        loader = cfg.get(key)
        if loader and loader.get('dataset', {}).get('pipeline'):
            return list(loader['dataset']['pipeline'])
    raise StadError(f'{cfg.filename}: no test_dataloader.dataset.pipeline to build clips from')


def _split_pipeline(cfg) -> tuple[dict, list]:
    """The pipeline's SampleAVAFrames step and the steps after decoding."""
    pipeline = _test_pipeline(cfg)
    types = [str(t['type']).split('.')[-1] for t in pipeline]
    if 'SampleAVAFrames' not in types:
        raise StadError(f'{cfg.filename}: test pipeline has no SampleAVAFrames step '
                        f'(steps: {types})')
    sample = dict(pipeline[types.index('SampleAVAFrames')])
    decode = [i for i, t in enumerate(types) if t in _DECODE_STEPS]
    if not decode:
        raise StadError(f'{cfg.filename}: test pipeline has no frame decoding step '
                        f'(one of {_DECODE_STEPS}; steps: {types})')
    after = [dict(t) for t in pipeline[decode[-1] + 1:]]
    return sample, after


def load_action_model(config: str | Any, checkpoint: str | None = None, *,
                      device: str = 'cpu', cfg_options: Mapping | None = None,
                      flip_test: bool | None = None) -> ActionModel:
    """Build the action model of an mmaction2 config and load its weights.

    Args:
        config: config file path or an mmengine ``Config``.
        checkpoint: ``.pth`` written by training; ``None`` keeps random weights (tests).
        device: torch device, ``'cpu'`` on this project's machines.
        cfg_options: config overrides, ``{'a.b': value}``.
        flip_test: horizontal-flip test-time augmentation (:class:`ActionModel`);
            ``None`` takes the config's ``stad_flip_test`` (default ``False``).

    Raises:
        StadError: missing config/checkpoint, or a test pipeline without clip sampling.
    """
    import torch
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmengine.runner import load_checkpoint

    if isinstance(config, str):
        if not os.path.isfile(config):
            raise StadError(f'config file not found: {config}')
        cfg = Config.fromfile(config)
    else:
        cfg = copy.deepcopy(config)
    if cfg_options:
        cfg.merge_from_dict(dict(cfg_options))
    if checkpoint is not None and not os.path.isfile(checkpoint):
        raise StadError(f'checkpoint not found: {checkpoint}')
    sample, after = _split_pipeline(cfg)

    import mmaction.datasets  # noqa: F401  (registers the transforms)
    import mmaction.models  # noqa: F401
    from mmaction.registry import MODELS, TRANSFORMS
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.pop('init_cfg', None)  # weights come from the checkpoint, not the network
    if 'backbone' in model_cfg:
        model_cfg['backbone']['pretrained'] = None
    scope = cfg.get('default_scope', 'mmaction')
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(model_cfg)
        transforms = tuple(TRANSFORMS.build(t) for t in after)
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, map_location='cpu', logger='silent')
    model.to(torch.device(device)).eval()

    head = model.roi_head.bbox_head
    dataset_cfg = (cfg.get('test_dataloader') or cfg.get('val_dataloader')).get('dataset', {})
    names = cfg.get('class_names')
    return ActionModel(
        model=model, cfg=cfg, clip_len=int(sample['clip_len']),
        frame_interval=int(sample.get('frame_interval', 2)), transforms=transforms,
        num_classes=int(head.num_classes), class_names=tuple(names) if names else None,
        person_det_score_thr=float(dataset_cfg.get('person_det_score_thr', 0.9)),
        flip_test=bool(cfg.get('stad_flip_test', False) if flip_test is None else flip_test))


def clip_indices(keyframe: int, num_frames: int, *, clip_len: int,
                 frame_interval: int) -> np.ndarray:
    """0-based indices into the decoded video of the clip around a 1-based keyframe.

    Same arithmetic as mmaction2's ``SampleAVAFrames(test_mode=True)`` with stad's
    MultiSports kwargs (``fps=1, timestamp_start=1, start_index=0``): the keyframe is at
    position ``clip_len // 2``; indices beyond the video are clamped to its ends.

    Raises:
        StadError: the keyframe is outside ``1..num_frames``.
    """
    if not 1 <= keyframe <= num_frames:
        raise StadError(f'keyframe {keyframe} outside the video (frames 1..{num_frames})')
    kw = MULTISPORTS_AVA_KWARGS
    centre = kw['fps'] * (keyframe - kw['timestamp_start']) + kw['start_index']
    start = centre - (clip_len // 2) * frame_interval
    inds = np.arange(clip_len) * frame_interval + start
    return np.clip(inds, 0, num_frames - 1).astype(np.int64) + kw['start_index']


def _num_frames(frames) -> int:
    return int(frames.shape[0]) if isinstance(frames, np.ndarray) else len(frames)


def read_batch(reader, inds: Sequence[int]) -> np.ndarray:
    """``reader.get_batch(inds).asnumpy()``, then ``reader.seek(0)`` if it can seek.

    decord's decoder keeps decoding ahead of the last frame read and buffers what it
    decodes, so between reads (while the models run) memory grows with the video's
    length (dmlc/decord#197, #208; measured: demo peak RSS +264 MiB from a 400- to a
    1600-frame video); seeking back to the start stops it.
    """
    frames = reader.get_batch([int(i) for i in inds]).asnumpy()
    if hasattr(reader, 'seek'):
        reader.seek(0)
    return frames


def _take(frames, inds: np.ndarray) -> list:
    if isinstance(frames, np.ndarray):
        return list(frames[inds])
    return list(read_batch(frames, inds))


def _pixel_boxes(boxes: np.ndarray, h: int, w: int, normalized: bool, where: str) -> np.ndarray:
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.ndim != 2 or boxes.shape[1] not in (4, 5):
        raise StadError(f'{where}: boxes must be an (N, 4) or (N, 5) array, got shape '
                        f'{boxes.shape}')
    boxes = boxes[:, :4]
    if normalized:
        if boxes.size and (boxes.min() < 0 or boxes.max() > 1):
            raise StadError(f'{where}: normalized boxes must lie in [0, 1] '
                            f'(got {boxes.min():.3g}..{boxes.max():.3g}); pass '
                            'normalized=False for pixel boxes')
        # exactly what DecordDecode does to AVADataset's proposals
        return (boxes * np.array([w, h, w, h])).astype(np.float32)
    return boxes.astype(np.float32)


def _prepare(am: ActionModel, frames, keyframe: int, boxes: np.ndarray, *, normalized: bool,
             video: str) -> dict:
    """One keyframe through the test pipeline after decoding (as AVADataset's sample)."""
    n = _num_frames(frames)
    inds = clip_indices(keyframe, n, clip_len=am.clip_len, frame_interval=am.frame_interval)
    imgs = _take(frames, inds)
    h, w = imgs[0].shape[:2]
    results = dict(
        imgs=imgs, original_shape=(h, w), img_shape=(h, w), frame_inds=inds,
        clip_len=am.clip_len, frame_interval=am.frame_interval, num_clips=1,
        crop_quadruple=np.array([0, 0, 1, 1], dtype=np.float32), modality='RGB',
        video_id=video, timestamp=keyframe, img_key=img_key(video, keyframe),
        # Resize/Flip only touch proposals when gt_bboxes is present (mmaction2)
        gt_bboxes=np.zeros((0, 4), dtype=np.float32),
        gt_labels=np.zeros((0, am.num_classes), dtype=np.float32),
        proposals=_pixel_boxes(boxes, h, w, normalized, f'{video} frame {keyframe}'))
    for t in am.transforms:
        results = t(results)
    return results


def _box_probs(model, inputs, rois, metas):
    """Class probabilities of every RoI of a batch: the RoI head's own forward on all
    boxes at once (its predict() takes one sample), scored as BBoxHeadAVA scores them."""
    cls = model.roi_head._bbox_forward(model.extract_feat(inputs), rois, metas)['cls_score']
    return cls.sigmoid() if model.roi_head.bbox_head.multilabel else cls.softmax(dim=-1)


def predict_keyframes(am: ActionModel, frames, keyframes: Sequence[int],
                      boxes: Sequence[np.ndarray], *, normalized: bool = True,
                      batch_size: int = 8, video: str = 'video') -> list[np.ndarray]:
    """Class scores of every box at every keyframe of one video.

    Args:
        am: from :func:`load_action_model`.
        frames: the video's decoded frames (module docstring), RGB.
        keyframes: 1-based frame numbers.
        boxes: per keyframe an ``(N_k, 4)`` (or ``(N_k, 5)``) array of person boxes.
        normalized: boxes are fractions of width/height (``True``) or pixels.
        batch_size: keyframes per backbone forward pass.
        video: video id, used in messages and sample metadata.

    Returns:
        per keyframe an ``(N_k, num_classes)`` float32 array of class probabilities
        (softmax for single-label heads, sigmoid for multi-label ones), rows in the
        order of ``boxes``.

    Raises:
        StadError: the video is shorter than the clip window, a keyframe is outside the
            video, or boxes are malformed.
    """
    import torch
    from mmdet.structures.bbox import bbox2roi

    if len(keyframes) != len(boxes):
        raise StadError(f'{video}: {len(keyframes)} keyframes but {len(boxes)} box arrays')
    n = _num_frames(frames)
    if n < am.clip_window:
        raise StadError(
            f'{video}: {n} frames, shorter than the action model\'s clip window of '
            f'{am.clip_window} frames (clip_len {am.clip_len} x frame_interval '
            f'{am.frame_interval})')
    out: list = [None] * len(keyframes)
    todo = []
    for i, b in enumerate(boxes):
        if len(b) == 0:
            out[i] = np.zeros((0, am.num_classes), dtype=np.float32)
        else:
            todo.append(i)
    model = am.model
    for s in range(0, len(todo), batch_size):
        chunk = todo[s:s + batch_size]
        packed = [_prepare(am, frames, int(keyframes[i]), boxes[i], normalized=normalized,
                           video=video) for i in chunk]
        with torch.no_grad():
            data = model.data_preprocessor(
                dict(inputs=[p['inputs'] for p in packed],
                     data_samples=[p['data_samples'] for p in packed]), training=False)
            inputs, samples = data['inputs'], data['data_samples']
            metas = [d.metainfo for d in samples]
            rois = bbox2roi([d.proposals.bboxes for d in samples])
            probs = _box_probs(model, inputs, rois, metas)
            if am.flip_test:
                # mirror clip and boxes as mmaction2's Flip does: x -> width - x
                width = inputs.shape[-1]
                mirrored = rois.clone()
                mirrored[:, 1], mirrored[:, 3] = width - rois[:, 3], width - rois[:, 1]
                probs = (probs + _box_probs(model, inputs.flip(-1), mirrored, metas)) / 2
        per = probs.split([len(d.proposals.bboxes) for d in samples], 0)
        for i, p in zip(chunk, per):
            out[i] = p.cpu().numpy().astype(np.float32)
    return out


def select_proposals(proposals: np.ndarray, score_thr: float) -> np.ndarray:
    """AVADataset's proposal selection: keep boxes scoring >= ``min(score_thr, best)``.

    ``(N, 5)`` arrays (boxes + detector score) are filtered; ``(N, 4)`` pass unchanged.
    """
    proposals = np.asarray(proposals)
    if proposals.ndim != 2 or proposals.shape[1] != 5 or len(proposals) == 0:
        return proposals
    thr = min(score_thr, proposals[:, 4].max())
    return proposals[proposals[:, 4] >= thr]


def _csv_keyframes(csv_path: str) -> dict[str, set[int]]:
    """{video: 1-based keyframes} listed in an AVA-style CSV (``stad convert``'s output)."""
    if not os.path.isfile(csv_path):
        raise StadError(f'{csv_path}: annotation CSV not found')
    frames: dict[str, set[int]] = {}
    with open(csv_path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.strip().split(',')
            try:
                video, frame = parse_img_key(f'{parts[0]},{parts[1]}')
            except (IndexError, ValueError):
                raise StadError(f'{csv_path}:{n}: expected "video,frame,..." got {line.strip()!r}')
            frames.setdefault(video, set()).add(frame)
    return frames


def _read_pickle(path: str, what: str):
    import pickle
    if not os.path.isfile(path):
        raise StadError(f'{path}: {what} not found')
    with open(path, 'rb') as f:
        return pickle.load(f)


def iter_video_keyframes(proposals: Mapping[str, np.ndarray],
                         keyframes: Mapping[str, set[int]] | None = None
                         ) -> Iterator[tuple[str, list[int], list[np.ndarray]]]:
    """Group a proposal dict by video: ``(video, sorted keyframes, their proposals)``.

    With ``keyframes``, only those frames (and a frame without proposals gets an empty
    array); otherwise every frame of the proposal dict.
    """
    by_video: dict[str, dict[int, np.ndarray]] = {}
    for key, arr in proposals.items():
        video, frame = parse_img_key(key)
        by_video.setdefault(video, {})[frame] = np.asarray(arr)
    videos = sorted(keyframes) if keyframes is not None else sorted(by_video)
    for video in videos:
        have = by_video.get(video, {})
        frames = sorted(keyframes[video]) if keyframes is not None else sorted(have)
        yield video, frames, [have.get(f, np.zeros((0, 5))) for f in frames]


# AVADataset gives a keyframe without proposals one whole-frame box (score 1).
_WHOLE_FRAME = np.array([[0., 0., 1., 1., 1.]])


def predict_dataset(am: ActionModel, data_root: str, *, split: str = 'val',
                    proposal_file: str | None = None, frames: str = 'annotated',
                    all_classes: bool = True, det_score: bool = True,
                    batch_size: int = 8, progress: bool = True) -> np.ndarray:
    """Run the action model over a split's videos and proposals; detections for eval.

    Args:
        am: from :func:`load_action_model`.
        data_root: dataset root in stad's layout (``stad/data/layout.py``).
        split: ``'train'`` or ``'val'``; videos are those of the split's ground truth
            (``test_videos`` for val).
        proposal_file: proposal pickle ``{img_key: (N, 5) normalized boxes + score}``;
            default ``annotations/multisports_proposals_<split>.pkl`` of ``data_root``.
            Boxes are selected with the config's ``person_det_score_thr`` as
            AVADataset does.
        frames: ``'annotated'`` predicts on the keyframes of the split's CSV (what
            mmaction2's val loop does; a keyframe without proposals gets one
            whole-frame box, as in AVADataset); ``'proposals'`` on every frame with proposals
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
        progress: show a tqdm bar over videos.

    Returns:
        ``(N, 8)`` float64 array with the columns of
        ``stad.evaluation.functional.multisports.DET_COLUMNS``: video index into the
        ground truth's split list, 1-based frame, 0-based label, score, x1, y1, x2, y2
        in pixels of the original video.

    Raises:
        StadError: missing files, a split video missing, or one shorter than the clip.
    """
    from ..data.gt import load_gt
    from ..data.layout import GT_SPLIT_KEYS
    if split not in GT_SPLIT_KEYS:
        raise StadError(f'split must be one of {sorted(GT_SPLIT_KEYS)}, got {split!r}')
    if frames not in ('annotated', 'proposals'):
        raise StadError(f"frames must be 'annotated' or 'proposals', got {frames!r}")
    layout = DataLayout(data_root)
    gt = load_gt(layout.gt_file)
    split_list = gt.get(GT_SPLIT_KEYS[split])
    if not split_list:
        raise StadError(f'{layout.gt_file}: no {GT_SPLIT_KEYS[split]} list')
    videos = list(split_list[0])
    index = {v: i for i, v in enumerate(videos)}
    proposal_file = proposal_file or layout.proposals(split)
    proposals = _read_pickle(proposal_file, 'proposal file')
    if frames == 'annotated':
        keyframes = _csv_keyframes(layout.csv(split))
    else:
        keyframes = {}
        for key in proposals:
            v, f = parse_img_key(key)
            keyframes.setdefault(v, set()).add(f)
    keyframes = {v: f for v, f in keyframes.items() if v in index}

    rows = []
    items = list(iter_video_keyframes(proposals, keyframes))
    if progress:
        from tqdm import tqdm
        items = tqdm(items, desc=f'action {split}', unit='video')
    for video, kfs, props in items:
        if frames == 'annotated':
            props = [p if len(p) else _WHOLE_FRAME for p in props]
        props = [select_proposals(p, am.person_det_score_thr) for p in props]
        reader = _open_video(layout.video_path(video))
        # pixels as the evaluation sees them: the ground truth's resolution
        h, w = gt['resolution'][video]
        scores = predict_keyframes(am, reader, kfs, props, batch_size=batch_size,
                                   video=video)
        for kf, p, sc in zip(kfs, props, scores):
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
            else:
                best = sc.argmax(1)
                rows.append(np.column_stack([
                    np.full(len(p), index[video]), np.full(len(p), kf), best,
                    sc[np.arange(len(p)), best], px]))
    if not rows:
        return np.zeros((0, 8))
    return np.concatenate(rows).astype(np.float64)


def _open_video(path: str):
    if not os.path.isfile(path):
        raise StadError(f'{path}: video not found')
    import decord
    try:
        return decord.VideoReader(path, num_threads=1)
    except Exception as e:  # decord raises its own DECORDError
        raise StadError(f'{path}: cannot decode video ({e})') from e
