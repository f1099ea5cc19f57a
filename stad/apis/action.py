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
from typing import Any, Mapping, Sequence

import numpy as np

from stad.errors import StadError
from stad.io.checkpoint import load_weights, read_checkpoint
from stad.io.config import label_set_overrides, read_config, recorded_class_names
from stad.io.layout import MULTISPORTS_AVA_KWARGS, img_key
from stad.io.video import read_batch

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
            ``person_det_score_thr``); :func:`proposal_mask` applies it.
        flip_test: average each box's class probabilities with those of the mirrored
            clip and box (the config's ``stad_flip_test``; mmaction2's own test loop,
            ``mim test``, does not flip).
        runtime: ``None`` (eager PyTorch) or the exported model on ONNX Runtime /
            OpenVINO (:func:`stad.apis.runtime.graph_session`): ``(clip, rois) ->
            [probabilities]``; ``model`` is then ``None`` and ``prep`` builds the clips.
        prep: with ``runtime``, the numpy clip preparation
            (:class:`stad.apis.clip_numpy.ClipPrep`, equal to :func:`prepare_batch`'s):
            a runtime run imports neither torch nor mmaction2.
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
    runtime: Any = None
    prep: Any = None

    @property
    def clip_window(self) -> int:
        """Frames a clip spans, first to last sampled frame included."""
        return (self.clip_len - 1) * self.frame_interval + 1

    def check_length(self, num_frames: int, video: str) -> None:
        """Raise a one-line :class:`StadError` if a video of ``num_frames`` frames is
        shorter than one clip window."""
        if num_frames < self.clip_window:
            raise StadError(
                f'{video}: {num_frames} frames, shorter than the action model\'s clip '
                f'window of {self.clip_window} frames (clip_len {self.clip_len} x '
                f'frame_interval {self.frame_interval})')


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
                      flip_test: bool | None = None, backend: str = 'torch',
                      onnx_dir: str | None = None, precision: str = 'f32',
                      threads: int | None = None) -> ActionModel:
    """Build the action model of an mmaction2 config and load its weights.

    Args:
        config: config file path or an mmengine ``Config``.
        checkpoint: ``.pth`` written by training; ``None`` keeps random weights (tests).
        device: torch device, ``'cpu'`` on this project's machines.
        cfg_options: config overrides, ``{'a.b': value}``.
        flip_test: horizontal-flip test-time augmentation (:class:`ActionModel`);
            ``None`` takes the config's ``stad_flip_test`` (default ``False``).
        backend: ``'torch'``, or ``'onnxruntime'`` / ``'openvino'`` / ``'auto'`` (the
            fastest measured: :data:`stad.apis.runtime.FASTEST`) running
            ``onnx_dir/action.onnx`` (``stad export onnx``) with numpy clip preparation,
            without torch: ``config`` may then be ``None`` (the export's copy), the
            ``checkpoint`` is not read (the ONNX file has the weights, the export the
            class names).
        precision: OpenVINO's inference precision, ``'f32'`` or ``'bf16'``.
        threads: the runtime session's threads (default: the runtime's, every core).

    Raises:
        StadError: missing config/checkpoint, a checkpoint that is unreadable, unsafe or
            not of this model (:func:`stad.io.checkpoint.load_weights`: every weight,
            same shapes), or a test pipeline without clip sampling.
    """
    from stad.apis.runtime import check_backend
    check_backend(backend, precision)
    if backend != 'torch':
        return _runtime_action_model(config, onnx_dir, backend, precision=precision,
                                     cfg_options=cfg_options, flip_test=flip_test,
                                     threads=threads)
    import torch
    from mmengine.registry import DefaultScope
    if config is None:
        raise StadError('an action model config is needed (--config)')
    cfg = _config(config)
    if checkpoint is not None and not os.path.isfile(checkpoint):
        raise StadError(f'checkpoint not found: {checkpoint}')
    ckpt = read_checkpoint(checkpoint, 'action model') if checkpoint is not None else None
    # a model trained on an imported label set (stad run / stad train --data-root): its
    # classes come with the checkpoint, so the config it started from still loads it
    names = recorded_class_names(ckpt) if ckpt is not None else None
    if names and list(cfg.get('class_names') or []) != names:
        cfg.merge_from_dict(label_set_overrides(cfg, names, getattr(cfg, 'filename', None)
                                                or '<config>'))
    if cfg_options:
        cfg.merge_from_dict(dict(cfg_options))
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
        # strict: mmengine's load_checkpoint only logs unmatched weights and leaves them
        # random, so a detector checkpoint here would run without a word
        load_weights(model, checkpoint, what='action model', ckpt=ckpt)
    model.to(torch.device(device)).eval()
    from stad.apis.runtime import use_torchvision_roi_align
    use_torchvision_roi_align(model)  # same values, faster (stad.apis.runtime)
    names = cfg.get('class_names')
    return ActionModel(
        model=model, cfg=cfg, clip_len=int(sample['clip_len']),
        frame_interval=int(sample.get('frame_interval', 2)), transforms=transforms,
        num_classes=int(model.roi_head.bbox_head.num_classes),
        class_names=tuple(names) if names else None,
        person_det_score_thr=_person_det_score_thr(cfg), flip_test=_flip_test(cfg, flip_test))


def _config(config):
    """A config file read (a one-line error if it is missing or bad), or a copy of a
    ``Config``."""
    if isinstance(config, str):
        if not os.path.isfile(config):
            raise StadError(f'config file not found: {config}')
        return read_config(config, 'action model config')
    return copy.deepcopy(config)


def _person_det_score_thr(cfg) -> float:
    dataset_cfg = (cfg.get('test_dataloader') or cfg.get('val_dataloader')).get('dataset', {})
    return float(dataset_cfg.get('person_det_score_thr', 0.9))


def _flip_test(cfg, flip_test: bool | None) -> bool:
    return bool(cfg.get('stad_flip_test', False) if flip_test is None else flip_test)


def _runtime_action_model(config, onnx_dir: str | None, backend: str, *, precision: str,
                          cfg_options: Mapping | None, flip_test: bool | None,
                          threads: int | None) -> ActionModel:
    """:func:`load_action_model` on a runtime backend: the export's graph, numpy clips."""
    from stad.apis.clip_numpy import ClipPrep
    from stad.apis.runtime import export_config, graph_session, read_manifest, require_onnx_dir
    require_onnx_dir(backend, onnx_dir)
    manifest = read_manifest(onnx_dir)
    meta = manifest['action']
    cfg = export_config(onnx_dir, manifest, 'action_config') if config is None \
        else _config(config)
    if cfg_options:
        cfg.merge_from_dict(dict(cfg_options))
    prep = ClipPrep.from_config(cfg)
    return ActionModel(
        model=None, cfg=cfg, clip_len=prep.clip_len, frame_interval=prep.frame_interval,
        transforms=(), num_classes=int(meta['num_classes']),
        class_names=tuple(meta['labels']), person_det_score_thr=_person_det_score_thr(cfg),
        flip_test=_flip_test(cfg, flip_test),
        runtime=graph_session(onnx_dir, 'action', backend, precision=precision,
                              threads=threads),
        prep=prep)


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


def box_probs(am: ActionModel, inputs, rois, metas=None):
    """Class probabilities of every RoI of a batch (normalised clips ``inputs``, ``rois``
    ``(K, 5)``): the RoI head's own forward on all boxes at once (its predict() takes one
    sample), scored as BBoxHeadAVA scores them."""
    import torch
    model = am.model
    with torch.no_grad():
        cls = model.roi_head._bbox_forward(model.extract_feat(inputs), rois,
                                           metas or [])['cls_score']
    return cls.sigmoid() if model.roi_head.bbox_head.multilabel else cls.softmax(dim=-1)


def prepare_batch(am: ActionModel, frames, keyframes: Sequence[int],
                  boxes: Sequence[np.ndarray], *, normalized: bool, video: str):
    """Clips and boxes of keyframes through the test pipeline and the data preprocessor:
    ``(inputs (N, 3, T, H, W) normalised, rois (K, 5), metas)``."""
    import torch
    from mmdet.structures.bbox import bbox2roi
    packed = [_prepare(am, frames, int(k), b, normalized=normalized, video=video)
              for k, b in zip(keyframes, boxes)]
    with torch.no_grad():
        data = am.model.data_preprocessor(
            dict(inputs=[p['inputs'] for p in packed],
                 data_samples=[p['data_samples'] for p in packed]), training=False)
    samples = data['data_samples']
    rois = widen_small_rois(bbox2roi([d.proposals.bboxes for d in samples]))
    return data['inputs'], rois, [d.metainfo for d in samples]


def mirror_rois(rois, width):
    """``rois`` ``(K, 5)`` (torch or numpy) of a clip flipped left-right, as mmaction2's
    ``Flip`` mirrors boxes: ``x -> width - x``, a new array (the flip test)."""
    mirrored = rois.clone() if hasattr(rois, 'clone') else rois.copy()
    mirrored[:, 1], mirrored[:, 3] = width - rois[:, 3], width - rois[:, 1]
    return mirrored


def widen_small_rois(rois):
    """RoIs ``(K, 5)`` (numpy or torch, changed in place and returned) under 1 px wide or
    high widened to 1 px about their centre: a detector box clipped to the frame's edge
    (e.g. x 319.95..320) has corners that round to one value in bf16, and RoIAlign
    divides by its zero size (NaN scores on OpenVINO bf16)."""
    for lo, hi in ((1, 3), (2, 4)):
        short = (rois[:, hi] - rois[:, lo]) < 1
        if short.any():
            mid = (rois[short, hi] + rois[short, lo]) / 2
            rois[short, lo], rois[short, hi] = mid - 0.5, mid + 0.5
    return rois


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
    if len(keyframes) != len(boxes):
        raise StadError(f'{video}: {len(keyframes)} keyframes but {len(boxes)} box arrays')
    am.check_length(_num_frames(frames), video)
    out: list = [None] * len(keyframes)
    todo = []
    for i, b in enumerate(boxes):
        if len(b) == 0:
            out[i] = np.zeros((0, am.num_classes), dtype=np.float32)
        else:
            todo.append(i)
    score = _runtime_scores if am.runtime is not None else _eager_scores
    for s in range(0, len(todo), batch_size):
        chunk = todo[s:s + batch_size]
        probs, clip_of_row = score(am, frames, [keyframes[i] for i in chunk],
                                   [boxes[i] for i in chunk], normalized=normalized,
                                   video=video)
        counts = np.bincount(clip_of_row, minlength=len(chunk))
        for i, p in zip(chunk, np.split(probs, np.cumsum(counts)[:-1])):
            out[i] = p.astype(np.float32)
    return out


def _eager_scores(am: ActionModel, frames, keyframes, boxes, *, normalized: bool,
                  video: str) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of one batch's boxes in eager PyTorch, and each row's clip."""
    inputs, rois, metas = prepare_batch(am, frames, keyframes, boxes, normalized=normalized,
                                        video=video)
    probs = box_probs(am, inputs, rois, metas)
    if am.flip_test:
        probs = (probs + box_probs(am, inputs.flip(-1), mirror_rois(rois, inputs.shape[-1]),
                                   metas)) / 2
    return probs.cpu().numpy(), rois[:, 0].long().numpy()


def _runtime_scores(am: ActionModel, frames, keyframes, boxes, *, normalized: bool,
                    video: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_eager_scores` on ``am.runtime`` with numpy clips (``am.prep``)."""
    inputs, rois = am.prep.prepare(frames, keyframes, boxes, normalized=normalized,
                                   video=video)
    probs = am.runtime(inputs, rois)[0]
    if am.flip_test:
        probs = (probs + am.runtime(*am.prep.mirror(inputs, rois))[0]) / 2
    return probs, rois[:, 0].astype(np.int64)


def proposal_mask(proposals: np.ndarray, score_thr: float) -> np.ndarray:
    """AVADataset's proposal selection as a mask: boxes scoring >= ``min(score_thr,
    best)``; ``(N, 4)`` arrays (no score) keep every box."""
    proposals = np.asarray(proposals)
    if proposals.ndim != 2 or proposals.shape[1] != 5 or len(proposals) == 0:
        return np.ones(len(proposals), dtype=bool)
    return proposals[:, 4] >= min(score_thr, proposals[:, 4].max())
