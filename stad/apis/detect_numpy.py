"""The person detector on its exported graphs (ONNX Runtime / OpenVINO) with numpy pre- and
post-processing: no torch, mmcv or mmdet imported.

:class:`RuntimeDetector` is :class:`stad.apis.detect.FrameDetector` for the runtime
backends: BGR frames in, per frame float32 ``(N, 5)`` person boxes out, from the
``stad export onnx`` folder alone (its ``stad_export.json`` and the detector config it
recorded). Why not mmdet's own post-processing: it needs torch and ``mmdet.models``,
4 s of start-up (``import torch`` 1.8 s, ``mmdet.models`` 3.9 s with it, measured
2026-12-01) in a ``stad demo`` that otherwise runs in a few seconds, and its per-call
overhead was a quarter of ``stad propose``'s time beside ONNX Runtime. What is written
here is a port of exactly what mmdet 3.3 runs for a two-stage detector with an
``AnchorGenerator`` RPN, ``DeltaXYWHBBoxCoder`` boxes and ``nms`` (Faster R-CNN, the
detector stad trains); tests/apis/test_detect_numpy.py checks it against mmdet's on the
same graph outputs, and other detector types are refused with a one-line error:

* pre-processing: the test pipeline's ``Resize`` (``mmcv.imrescale`` / ``imresize``:
  cv2 bilinear, sizes rounded as mmcv's ``rescale_size``) and ``DetDataPreprocessor``
  (BGR -> RGB, ``(x - mean) / std`` in float32, zero padding to ``pad_size_divisor``);
* RPN (``RPNHead._predict_by_feat_single``): anchors as ``AnchorGenerator.grid_priors``,
  sigmoid (or softmax) scores, the ``nms_pre`` best per level, delta decoding clipped to
  the resized image, boxes wider and higher than ``min_bbox_size``, NMS per level,
  ``max_per_img`` proposals;
* box head (``BBoxHead._predict_by_feat_single`` + ``multiclass_nms``): softmax, per-class
  deltas decoded and clipped, rescaled to the frame, scores above ``score_thr``, NMS per
  class, ``max_per_img`` boxes.

NMS: OpenCV's ``cv2.dnn.NMSBoxes`` (C++; greedy, score order, a box dropped when its IoU
with a kept one is above the threshold: mmcv's ``nms`` rule, same kept indices on 300
random sets); zero-area boxes, which mmcv never suppresses (0/0 IoU) and OpenCV does, are
kept aside.
"""
from __future__ import annotations

import functools
from typing import Sequence

import cv2
import numpy as np

from stad.apis.clip_numpy import INTERPOLATION
from stad.errors import StadError

# ------------------------------------------------------------------------ box maths


def _pair(v) -> tuple:
    return (v, v) if isinstance(v, (int, float)) else tuple(v)


def base_anchors(gen: dict) -> tuple[list[np.ndarray], list[tuple]]:
    """Per level the base anchors ``(A, 4)`` float32 and ``(stride_w, stride_h)`` of an
    mmdet ``AnchorGenerator`` config (``AnchorGenerator.gen_base_anchors``)."""
    strides = [_pair(s) for s in gen['strides']]
    sizes = gen.get('base_sizes') or [min(s) for s in strides]
    if gen.get('scales') is not None:
        scales = np.asarray(gen['scales'], dtype=np.float32)
    else:
        spo = int(gen['scales_per_octave'])
        scales = (np.array([2 ** (i / spo) for i in range(spo)])
                  * gen['octave_base_scale']).astype(np.float32)
    ratios = np.asarray(gen['ratios'], dtype=np.float32)
    offset = float(gen.get('center_offset', 0.0))
    centers = gen.get('centers')
    out = []
    for i, size in enumerate(sizes):
        w = h = np.float32(size)
        cx, cy = (centers[i] if centers is not None else (offset * w, offset * h))
        h_ratios = np.sqrt(ratios)
        w_ratios = np.float32(1) / h_ratios
        if gen.get('scale_major', True):
            ws = (w * w_ratios[:, None] * scales[None, :]).reshape(-1)
            hs = (h * h_ratios[:, None] * scales[None, :]).reshape(-1)
        else:
            ws = (w * scales[:, None] * w_ratios[None, :]).reshape(-1)
            hs = (h * scales[:, None] * h_ratios[None, :]).reshape(-1)
        cx, cy = np.float32(cx), np.float32(cy)
        out.append(np.stack([cx - np.float32(0.5) * ws, cy - np.float32(0.5) * hs,
                             cx + np.float32(0.5) * ws, cy + np.float32(0.5) * hs],
                            axis=-1).astype(np.float32))
    return out, strides


@functools.lru_cache(maxsize=64)
def _grid_shifts(stride: tuple, feat_h: int, feat_w: int) -> np.ndarray:
    sx = np.arange(feat_w, dtype=np.float32) * np.float32(stride[0])
    sy = np.arange(feat_h, dtype=np.float32) * np.float32(stride[1])
    xx, yy = np.tile(sx, feat_h), np.repeat(sy, feat_w)
    return np.stack([xx, yy, xx, yy], axis=-1)


def grid_anchors(base: np.ndarray, stride: tuple, feat_h: int, feat_w: int,
                 rows: np.ndarray | None = None) -> np.ndarray:
    """``AnchorGenerator.single_level_grid_priors``: ``(feat_h * feat_w * A, 4)``, the A
    anchors of cell (0, 0) first, then (0, 1), ...; with ``rows``, only those rows (the
    same values, without building the others)."""
    shifts = _grid_shifts(tuple(stride), int(feat_h), int(feat_w))
    if rows is not None:
        return base[rows % len(base)] + shifts[rows // len(base)]
    return (base[None, :, :] + shifts[:, None, :]).reshape(-1, 4)


def delta2bbox(rois: np.ndarray, deltas: np.ndarray, means, stds, max_shape,
               wh_ratio_clip: float = 16 / 1000) -> np.ndarray:
    """mmdet's ``delta2bbox`` for ``(N, 4)`` rois and deltas (``add_ctr_clamp`` off,
    borders clipped to ``max_shape`` ``(h, w)``): ``(N, 4)`` float32 boxes."""
    d = deltas.astype(np.float32) * np.asarray(stds, np.float32) \
        + np.asarray(means, np.float32)
    r = rois.astype(np.float32)
    pxy = (r[:, :2] + r[:, 2:]) * np.float32(0.5)
    pwh = r[:, 2:] - r[:, :2]
    max_ratio = np.float32(np.abs(np.log(wh_ratio_clip)))
    dwh = np.clip(d[:, 2:], -max_ratio, max_ratio)
    gxy = pxy + pwh * d[:, :2]
    gwh = pwh * np.exp(dwh)
    boxes = np.concatenate([gxy - gwh * np.float32(0.5), gxy + gwh * np.float32(0.5)], axis=1)
    np.clip(boxes[:, 0::2], 0, max_shape[1], out=boxes[:, 0::2])
    np.clip(boxes[:, 1::2], 0, max_shape[0], out=boxes[:, 1::2])
    return boxes


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float,
        max_keep: int | None = None) -> np.ndarray:
    """mmcv's ``nms`` (offset 0): indices kept, by decreasing score; with ``max_keep``,
    only the first ``max_keep`` of them (what the callers truncate to anyway).

    Greedy NMS keeps a box by the boxes before it only, so NMS on the ``m * max_keep``
    best boxes gives the first keeps of NMS on all of them: when that keeps at least
    ``max_keep`` the rest is not looked at, else the head doubles (``m`` = 2, 4, 8, ...)
    until it holds every box. Over the NMS calls of the synthetic detector on the demo
    video (the RPN's ~1000 boxes per image, then the box head's) this more than halves
    the work: 0.65 ms per call with all boxes, 0.27 with a head of 2x only, 0.18-0.26
    doubling, the same indices."""
    order = None
    m = 2
    while max_keep and len(boxes) > m * max_keep:
        if order is None:
            order = np.argsort(-scores, kind='stable')
        head = order[:m * max_keep]
        keep = head[_nms(boxes[head], scores[head], iou_threshold)]
        if len(keep) >= max_keep:
            return keep[:max_keep]
        m *= 2
    keep = _nms(boxes, scores, iou_threshold)
    return keep[:max_keep] if max_keep else keep


def _nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    if not len(boxes):
        return np.zeros(0, dtype=np.int64)
    wh = boxes[:, 2:] - boxes[:, :2]
    flat = (wh[:, 0] <= 0) | (wh[:, 1] <= 0)
    idx = np.flatnonzero(~flat)
    keep = np.zeros(0, dtype=np.int64)
    if len(idx):
        rects = np.concatenate([boxes[idx, :2], wh[idx]], axis=1).astype(np.float64)
        # NMSBoxes drops scores <= score_threshold (0 here: a score of exactly 0 is lost,
        # which mmcv would keep last)
        k = cv2.dnn.NMSBoxes(rects, scores[idx].astype(np.float32), 0.0, float(iou_threshold))
        keep = idx[np.asarray(k, dtype=np.int64).reshape(-1)]
    if flat.any():  # mmcv: IoU 0 (or 0/0) with every box, never suppressed
        keep = np.concatenate([keep, np.flatnonzero(flat)])
    return keep[np.argsort(-scores[keep], kind='stable')]


def batched_nms(boxes: np.ndarray, scores: np.ndarray, groups: np.ndarray,
                iou_threshold: float, max_keep: int | None = None) -> np.ndarray:
    """mmcv's ``batched_nms``: NMS within each group (level, class), kept indices by
    decreasing score (with ``max_keep``: the first ``max_keep``). As mmcv does below
    10000 boxes, each group's boxes are shifted apart (float64 here) so that one NMS
    over all of them never lets two groups meet: one call instead of one per group, and
    :func:`nms`'s shortcut (the best boxes first) over all groups at once."""
    if not len(boxes):
        return np.zeros(0, dtype=np.int64)
    b = boxes.astype(np.float64)
    span = float(b.max() - min(b.min(), 0.0)) + 1.0
    return nms(b + (groups.astype(np.float64) * span)[:, None], scores, iou_threshold, max_keep)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """``np.argsort(-scores, kind='stable')[:k]`` (the ``k`` best, ties in index order)
    without sorting all of them."""
    if k >= len(scores):
        return np.argsort(-scores, kind='stable')
    kth = np.partition(scores, len(scores) - k)[len(scores) - k]
    above = np.flatnonzero(scores > kth)
    sel = np.concatenate([above, np.flatnonzero(scores == kth)[:k - len(above)]])
    return sel[np.argsort(-scores[sel], kind='stable')]


def roi_levels(rois: np.ndarray, finest_scale: float, num_levels: int) -> np.ndarray:
    """mmdet's ``SingleRoIExtractor.map_roi_levels``: the feature level of each RoI
    ``(K, 5)`` from its scale, ``floor(log2(sqrt(w * h) / finest_scale + 1e-6))``."""
    scale = np.sqrt((rois[:, 3] - rois[:, 1]) * (rois[:, 4] - rois[:, 2]))
    lvl = np.floor(np.log2(scale / np.float32(finest_scale) + np.float32(1e-6)))
    return np.clip(lvl, 0, num_levels - 1).astype(np.int64)


def _nms_cfg(cfg: dict, where: str) -> float:
    nms_cfg = dict(cfg.get('nms') or {})
    kind = str(nms_cfg.get('type', 'nms'))
    if kind != 'nms' or nms_cfg.get('class_agnostic'):
        raise StadError(f'{where}: NMS type {kind!r} (class_agnostic '
                        f'{nms_cfg.get("class_agnostic", False)}): the runtime detector '
                        "ports mmcv's plain per-class 'nms' only (use --backend torch)")
    return float(_field(nms_cfg, 'iou_threshold', where, 'nms'))


def person_rows(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, *, label: int,
                score_thr: float, max_per_frame: int) -> np.ndarray:
    """One frame's detections -> float32 ``(N, 5)`` x1, y1, x2, y2, score: the boxes of
    class ``label`` scoring >= ``score_thr``, the ``max_per_frame`` best, by decreasing
    score (ties in input order)."""
    keep = (labels == label) & (scores >= score_thr)
    boxes, scores = boxes[keep], scores[keep]
    order = np.argsort(-scores, kind='stable')[:max_per_frame]
    return np.concatenate([boxes[order], scores[order, None]], axis=1).astype(np.float32)


def _kind(step) -> str:
    return str((step or {}).get('type', '')).split('.')[-1]


def _require_type(part, kinds: tuple, what: str, where: str) -> None:
    if _kind(part) and _kind(part) not in kinds:
        raise StadError(f'{where}: {what} type {_kind(part)!r}: the runtime detector ports '
                        f'{" / ".join(kinds)} only (use --backend torch)')


def _field(part, key: str, where: str, what: str):
    if not isinstance(part, dict) or key not in part:
        raise StadError(f'{where}: {what} has no {key!r}')
    return part[key]


#: test pipeline steps the runtime detector runs or may skip (image loading, annotations,
#: packing); any other step would change the input
_PIPELINE_STEPS = ('LoadImageFromFile', 'LoadImageFromNDArray', 'LoadAnnotations',
                   'Resize', 'PackDetInputs')


def detector_settings(cfg, where: str) -> dict:
    """The test-time input settings of an mmdet detector config, without mmdet: its test
    pipeline's one ``Resize`` (``scale``, ``keep_ratio``, ``interpolation``), the data
    preprocessor's ``mean``, ``std``, ``bgr_to_rgb``, ``pad_size_divisor`` and
    ``model.test_cfg`` (what ``stad export onnx`` records and :class:`RuntimeDetector`
    runs). A step or setting the port does not do (``Pad``, ``RandomResize``, a resize by
    ``scale_factor``, ``pad_value``, ``rgb_to_bgr``, no ``mean``) is a one-line
    :class:`StadError` naming ``where``."""
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}
    dataset = loader.get('dataset') or {}
    while 'pipeline' not in dataset and ('dataset' in dataset or 'datasets' in dataset):
        dataset = dataset.get('dataset') or dataset['datasets'][0]  # dataset wrappers
    pipeline = dataset.get('pipeline') or cfg.get('test_pipeline')
    if not pipeline:
        raise StadError(f'{where}: no test_dataloader.dataset.pipeline')
    for step in pipeline:
        if _kind(step) not in _PIPELINE_STEPS:
            raise StadError(f'{where}: test pipeline step {_kind(step)!r}: the runtime '
                            f'detector runs {", ".join(_PIPELINE_STEPS)} only (use --backend '
                            'torch)')
    resize = [dict(t) for t in pipeline if _kind(t) == 'Resize']
    if len(resize) != 1 or 'scale' not in resize[0]:
        raise StadError(f'{where}: the runtime detector needs exactly one Resize with a '
                        f'scale in the test pipeline, got {resize}')
    model = cfg.get('model') or {}
    pre = model.get('data_preprocessor') or {}
    if pre.get('mean') is None or pre.get('std') is None or pre.get('rgb_to_bgr') or \
            pre.get('pad_value', 0) != 0:
        raise StadError(f'{where}: model.data_preprocessor {dict(pre)}: the runtime '
                        'detector ports mean/std normalisation, bgr_to_rgb and zero '
                        'padding only (use --backend torch)')
    test_cfg = model.get('test_cfg')
    return dict(resize=resize, mean=[float(x) for x in pre['mean']],
                std=[float(x) for x in pre['std']],
                bgr_to_rgb=bool(pre.get('bgr_to_rgb', False)),
                pad_size_divisor=int(pre.get('pad_size_divisor', 1)),
                test_cfg=test_cfg.to_dict() if hasattr(test_cfg, 'to_dict') else
                dict(test_cfg or {}))


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over='ignore'):  # exp(88+) -> inf -> 0, torch's value there
        return np.float32(1) / (np.float32(1) + np.exp(-x))


# -------------------------------------------------------------------------- detector

class RuntimeDetector:
    """Person boxes of BGR frames from the exported detector graphs (module docstring).

    Args:
        onnx_dir: a ``stad export onnx`` folder.
        backend: ``'auto'``, ``'onnxruntime'`` or ``'openvino'`` (``'auto'``: each graph
            on :data:`stad.apis.runtime.FASTEST`'s runtime).
        score_thr, max_per_frame: as :class:`stad.apis.detect.ProposalOptions`.
        config: a detector config file to take the pre- and post-processing from
            instead of the export's copy (it must describe the exported model).
        precision: OpenVINO's ``'f32'`` or ``'bf16'``.
        threads: each runtime session's threads (default: the runtime's own).

    Attributes ``label``, ``score_thr``, ``max_per_frame``, ``backend`` as
    :class:`stad.apis.detect.FrameDetector`'s.
    """

    #: the run needs neither torch nor mmdet (the demo then tracks with the numpy
    #: ByteTrack: :mod:`stad.apis.tracking`)
    torch_free = True

    def __init__(self, onnx_dir: str, backend: str = 'auto', *, score_thr: float,
                 max_per_frame: int, config: str | None = None, precision: str = 'f32',
                 threads: int | None = None):
        from stad.apis.runtime import FILES, export_config, read_manifest
        from stad.io.config import read_config
        meta = read_manifest(onnx_dir)
        det = meta['detector']
        cfg = read_config(config, 'detector config') if config is not None \
            else export_config(onnx_dir, meta, 'det_config')
        where = config or cfg.filename
        self._setup(cfg, det, where)
        self.label = int(det.get('person_label', 0))
        self.score_thr = float(score_thr)
        self.max_per_frame = int(max_per_frame)
        self.backend = backend
        self._graphs = dict(onnx_dir=onnx_dir, backend=backend, precision=precision,
                            threads=threads)
        self.features, self.roi_head = self._sessions()
        if len(self.roi_head.inputs) != 2 * self.roi_levels:
            raise StadError(f'{onnx_dir}: {FILES["det_roi"]} takes one RoI input for all '
                            'levels (written by an older stad): rerun `stad export onnx`')

    def _sessions(self) -> tuple:
        from stad.apis.runtime import graph_session
        g = self._graphs
        return tuple(graph_session(g['onnx_dir'], graph, g['backend'],
                                   precision=g['precision'], threads=g['threads'])
                     for graph in ('det_features', 'det_roi'))

    def copy(self) -> RuntimeDetector:
        """The same detector with sessions of its own, for another thread (an OpenVINO
        request serves one call at a time); the manifest and config are not read again."""
        import copy
        new = copy.copy(self)
        new.features, new.roi_head = self._sessions()
        return new

    def _setup(self, cfg, det: dict, where: str) -> None:
        """The port's settings from the detector config ``cfg`` (named ``where`` in
        errors) and the graphs' facts from the manifest entry ``det``."""
        model = cfg.get('model') or {}
        rpn, roi = model.get('rpn_head'), model.get('roi_head')
        if not isinstance(rpn, dict) or not isinstance(roi, dict) or \
                not isinstance(roi.get('bbox_head'), dict):
            raise StadError(f'{where}: not a two-stage detector with one box head (rpn_head '
                            '+ roi_head.bbox_head): the runtime detector ports Faster R-CNN '
                            '(use --backend torch)')
        _require_type(roi, ('StandardRoIHead',), 'roi_head', where)
        extractor = roi.get('bbox_roi_extractor') or {}
        _require_type(extractor, ('SingleRoIExtractor',), 'roi_head.bbox_roi_extractor', where)
        bbox = roi['bbox_head']
        for what, coder in (('rpn_head.bbox_coder', rpn.get('bbox_coder') or {}),
                            ('roi_head.bbox_head.bbox_coder', bbox.get('bbox_coder') or {})):
            _require_type(coder, ('DeltaXYWHBBoxCoder',), what, where)
            if coder.get('add_ctr_clamp') or coder.get('clip_border') is False:
                raise StadError(f'{where}: {what} with add_ctr_clamp or without clip_border: '
                                'not ported (use --backend torch)')
        gen = dict(_field(rpn, 'anchor_generator', where, 'rpn_head'))
        _require_type(gen, ('AnchorGenerator',), 'rpn_head.anchor_generator', where)
        box_loss = bbox.get('loss_cls') or {}
        if box_loss.get('use_sigmoid') or _kind(box_loss) not in ('CrossEntropyLoss', ''):
            raise StadError(f'{where}: roi_head.bbox_head.loss_cls {dict(box_loss)}: the '
                            'runtime detector ports softmax class scores (use --backend torch)')
        self.anchors, self.strides = base_anchors(gen)
        # mmdet's AnchorHead: sigmoid scores when loss_cls says use_sigmoid, and when there
        # is no loss_cls (its default loss is sigmoid cross-entropy)
        self.rpn_sigmoid = bool(rpn['loss_cls'].get('use_sigmoid', False)) \
            if rpn.get('loss_cls') else True
        self.rpn_coder = rpn.get('bbox_coder') or {}
        self.box_coder = bbox.get('bbox_coder') or {}
        self.num_classes = int(_field(bbox, 'num_classes', where, 'roi_head.bbox_head'))
        self.class_agnostic = bool(bbox.get('reg_class_agnostic', False))
        self.finest_scale = float(extractor.get('finest_scale', 56))
        settings = detector_settings(cfg, where)
        test = settings['test_cfg']
        self.rpn_cfg = dict(_field(test, 'rpn', where, 'model.test_cfg'))
        self.rcnn_cfg = dict(_field(test, 'rcnn', where, 'model.test_cfg'))
        self.rpn_iou = _nms_cfg(self.rpn_cfg, where + ' model.test_cfg.rpn')
        self.rcnn_iou = _nms_cfg(self.rcnn_cfg, where + ' model.test_cfg.rcnn')
        _field(self.rpn_cfg, 'max_per_img', where, 'model.test_cfg.rpn')
        _field(self.rcnn_cfg, 'score_thr', where, 'model.test_cfg.rcnn')
        self.where = where
        self.resize = settings['resize'][0]
        self.resize_scale = _pair(self.resize['scale'])
        self.keep_ratio = bool(self.resize.get('keep_ratio', False))
        flag = INTERPOLATION.get(str(self.resize.get('interpolation', 'bilinear')))
        if flag is None:
            raise StadError(f"{where}: test pipeline Resize interpolation "
                            f"{self.resize['interpolation']!r} is not one of "
                            f"{', '.join(INTERPOLATION)}")
        self.interpolation = flag
        self.mean = np.asarray(settings['mean'], np.float32)
        self.std = np.asarray(settings['std'], np.float32)
        self.bgr_to_rgb = settings['bgr_to_rgb']
        self.divisor = settings['pad_size_divisor']
        self.levels = int(_field(det, 'levels', where, 'the export manifest'))
        self.roi_levels = int(_field(det, 'roi_levels', where, 'the export manifest'))
        if len(self.anchors) != self.levels:
            raise StadError(f'{where}: {len(self.anchors)} anchor levels for the export\'s '
                            f'{self.levels} feature levels: not the exported detector')

    # -- pre-processing
    def _resize(self, img: np.ndarray) -> tuple[np.ndarray, tuple]:
        """mmdet ``Resize`` on one frame: (resized, (w_scale, h_scale))."""
        h, w = img.shape[:2]
        scale = self.resize_scale
        if self.keep_ratio:
            long_, short = max(scale), min(scale)
            f = min(long_ / max(h, w), short / min(h, w))
            size = (int(w * float(f) + 0.5), int(h * float(f) + 0.5))
        else:
            size = (int(scale[0]), int(scale[1]))
        out = cv2.resize(img, size, interpolation=self.interpolation)
        return out, (size[0] / w, size[1] / h)

    def preprocess(self, frames: Sequence[np.ndarray]):
        """``(inputs (B, 3, H, W) float32, img_shapes [(h, w)], scale_factors)``."""
        resized = [self._resize(f) for f in frames]
        shapes = [r.shape[:2] for r, _ in resized]
        hmax = max(s[0] for s in shapes)
        wmax = max(s[1] for s in shapes)
        d = self.divisor
        hp, wp = -(-hmax // d) * d, -(-wmax // d) * d
        out = np.zeros((len(frames), 3, hp, wp), np.float32)
        # channel by channel into the padded NCHW batch: (x - mean) / std in float32 as
        # DetDataPreprocessor computes it, without an HWC float copy (7x faster)
        groups = [(slice(None), np.stack([r for r, _ in resized]))] \
            if len(set(shapes)) == 1 else \
            [(slice(i, i + 1), r[None]) for i, (r, _) in enumerate(resized)]
        for rows, imgs in groups:
            h, w = imgs.shape[1:3]
            for c in range(3):
                src = 2 - c if self.bgr_to_rgb else c
                np.divide(np.subtract(imgs[..., src], self.mean[c], dtype=np.float32),
                          self.std[c], out=out[rows, c, :h, :w])
        return out, shapes, [s for _, s in resized]

    # -- post-processing
    def _proposals(self, cls: list, reg: list, i: int, img_shape) -> np.ndarray:
        """One image's RPN proposals ``(P, 4)``."""
        cfg = self.rpn_cfg
        nms_pre = int(cfg.get('nms_pre', -1))
        anchors, deltas, scores, levels = [], [], [], []
        for lvl in range(self.levels):
            c, r = cls[lvl][i], reg[lvl][i]
            fh, fw = c.shape[-2:]
            n_anchors = len(self.anchors[lvl])
            if c.shape[0] != n_anchors * (1 if self.rpn_sigmoid else 2) or \
                    r.shape[0] != 4 * n_anchors:
                raise StadError(f'{self.where}: the RPN graph gives {c.shape[0]} class and '
                                f'{r.shape[0]} box maps at level {lvl} for {n_anchors} '
                                'anchors per cell: the config does not describe the '
                                'exported detector')
            d = r.transpose(1, 2, 0).reshape(-1, 4)
            if self.rpn_sigmoid:
                s = _sigmoid(c.transpose(1, 2, 0).reshape(-1))
            else:
                s = _softmax(c.transpose(1, 2, 0).reshape(-1, 2))[:, 0]
            top = top_k(s, nms_pre) if 0 < nms_pre < len(s) else None
            a = grid_anchors(self.anchors[lvl], self.strides[lvl], fh, fw, rows=top)
            if top is not None:
                s, d = s[top], d[top]
            anchors.append(a)
            deltas.append(d)
            scores.append(s.astype(np.float32))
            levels.append(len(s))
        boxes = delta2bbox(np.concatenate(anchors), np.concatenate(deltas),
                           self.rpn_coder.get('target_means', (0., 0., 0., 0.)),
                           self.rpn_coder.get('target_stds', (1., 1., 1., 1.)), img_shape)
        scores = np.concatenate(scores)
        groups = np.repeat(np.arange(self.levels), levels)
        min_size = cfg.get('min_bbox_size', -1)
        if min_size >= 0:
            wh = boxes[:, 2:] - boxes[:, :2]
            ok = (wh[:, 0] > min_size) & (wh[:, 1] > min_size)
            boxes, scores, groups = boxes[ok], scores[ok], groups[ok]
        if not len(boxes):
            return boxes.reshape(0, 4)
        max_num = int(cfg['max_per_img'])  # sliced as mmdet does (even a negative one)
        keep = batched_nms(boxes, scores, groups, self.rpn_iou, max_num if max_num > 0 else None)
        return boxes[keep][:max_num]

    def _boxes(self, rois: np.ndarray, cls_score: np.ndarray, deltas: np.ndarray,
               img_shape, scale: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One image's final ``(boxes (N, 4) in frame px, scores, labels)``."""
        scores = _softmax(cls_score.astype(np.float32))
        n, c = len(rois), 1 if self.class_agnostic else self.num_classes
        boxes = delta2bbox(np.repeat(rois, c, axis=0), deltas.reshape(n * c, 4),
                           self.box_coder.get('target_means', (0., 0., 0., 0.)),
                           self.box_coder.get('target_stds', (1., 1., 1., 1.)), img_shape)
        boxes = (boxes * np.asarray([1 / scale[0], 1 / scale[1]] * 2, np.float32)) \
            .reshape(n, c, 4)
        if c == 1:
            boxes = np.broadcast_to(boxes, (n, self.num_classes, 4))
        scores = scores[:, :-1]
        labels = np.broadcast_to(np.arange(self.num_classes), scores.shape).reshape(-1)
        boxes, scores = boxes.reshape(-1, 4), scores.reshape(-1)
        ok = scores > float(self.rcnn_cfg['score_thr'])
        boxes, scores, labels = boxes[ok], scores[ok], labels[ok]
        max_num = int(self.rcnn_cfg.get('max_per_img', -1))
        keep = batched_nms(boxes, scores, labels, self.rcnn_iou, max_num if max_num > 0 else None)
        return boxes[keep], scores[keep], labels[keep]

    def roi_outputs(self, feats: list, rois: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The RoI head graph on ``rois (K, 5)``: ``(class scores, box deltas)`` in the
        rows of ``rois``. The boxes go in per feature level (:func:`roi_levels`); a level
        without boxes gets one placeholder box, its output row dropped."""
        n = self.roi_levels
        lvl = roi_levels(rois, self.finest_scale, n)
        order = np.argsort(lvl, kind='stable')
        per = [rois[lvl == i] for i in range(n)]
        dummy = np.array([[0, 0, 0, 1, 1]], np.float32)
        cls_score, deltas = self.roi_head(*feats[:n], *[r if len(r) else dummy for r in per])
        real = np.concatenate([np.full(max(len(r), 1), len(r) > 0) for r in per])
        out_cls, out_deltas = np.empty_like(cls_score[real]), np.empty_like(deltas[real])
        out_cls[order], out_deltas[order] = cls_score[real], deltas[real]
        return out_cls, out_deltas

    def predict(self, frames: Sequence[np.ndarray]) -> list[tuple]:
        """All classes' final detections per frame: ``[(boxes, scores, labels)]``."""
        inputs, shapes, scales = self.preprocess(frames)
        outs = self.features(inputs)
        n = self.levels
        feats, cls, reg = outs[:n], outs[n:2 * n], outs[2 * n:3 * n]
        proposals = [self._proposals(cls, reg, i, shapes[i]) for i in range(len(frames))]
        per = [len(p) for p in proposals]
        empty = (np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))
        if not sum(per):
            return [empty] * len(frames)
        rois = np.concatenate([np.concatenate([np.full((len(p), 1), i, np.float32), p], 1)
                               for i, p in enumerate(proposals)]).astype(np.float32)
        cls_score, deltas = self.roi_outputs(feats, rois)
        out, start = [], 0
        for i, k in enumerate(per):
            sl = slice(start, start + k)
            start += k
            out.append(self._boxes(rois[sl, 1:], cls_score[sl], deltas[sl], shapes[i],
                                   scales[i]) if k else empty)
        return out

    def __call__(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        """As :meth:`stad.apis.detect.FrameDetector.__call__`: per frame float32 (N, 5)
        x1, y1, x2, y2 (frame px), score of class ``label``, ``score >= score_thr``, the
        ``max_per_frame`` best by decreasing score."""
        if not len(frames):
            return []
        return [person_rows(boxes, scores, labels, label=self.label, score_thr=self.score_thr,
                            max_per_frame=self.max_per_frame)
                for boxes, scores, labels in self.predict(frames)]
