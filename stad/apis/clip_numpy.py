"""The action model's clip preparation in numpy and OpenCV, without torch or the stack.

:func:`stad.apis.action.prepare_batch` builds a batch with mmaction2's test-pipeline
transforms, the model's data preprocessor and mmdet's ``bbox2roi``, which means importing
torch, mmaction2 and mmdet (4 s of a 12 s ``stad demo``). The ONNX Runtime and OpenVINO
backends need none of them to run the exported model, so :class:`ClipPrep` repeats that
arithmetic with numpy and ``cv2`` and returns the same arrays
(``tests/apis/test_clip_numpy.py`` compares the two):

* frames and boxes: the conventions of :mod:`stad.apis.action` (RGB ``uint8`` frames or
  a decord-like reader; 1-based keyframes; normalised or pixel boxes, a score column
  ignored), through its own helpers (:func:`~stad.apis.action.clip_indices`,
  ``_take``, ``_pixel_boxes``);
* mmaction2 1.2's ``Resize`` (``lazy=False``): new size from mmcv's ``rescale_size``
  (``keep_ratio``; a ``-1`` in ``scale`` leaves that edge free) or ``scale`` itself,
  frames resized by ``cv2.resize`` as ``mmcv.imresize`` does (mmcv's default ``cv2``
  backend), proposals multiplied by the ``float32`` scale factor;
* ``FormatShape('NCTHW', collapse=True)`` and ``PackActionInputs``: a clip becomes
  ``(3, T, H, W)``;
* mmaction2's ``ActionDataPreprocessor`` (or ``stad.ChannelsLastActionDataPreprocessor``,
  same values): channels reversed if ``to_rgb``, then ``(x - mean) / std`` in
  ``float32``;
* ``bbox2roi``: ``[clip index, x1, y1, x2, y2]`` rows, then boxes under 1 px wide or high
  widened to 1 px about their centre, as ``prepare_batch`` does.

A config whose test pipeline or preprocessor needs anything else is refused by
:meth:`ClipPrep.from_config` with a one-line :class:`StadError`, which the runtime
backends raise to the user (the torch backend runs any pipeline).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import cv2
import numpy as np

from stad.apis.action import (
    _num_frames,
    _pixel_boxes,
    _split_pipeline,
    _take,
    clip_indices,
    mirror_rois,
    widen_small_rois,
)
from stad.errors import StadError

#: mmcv's ``imresize`` interpolation names -> cv2 flags (mmcv.image.geometric.cv2_interp_codes)
INTERPOLATION = {
    'nearest': cv2.INTER_NEAREST,
    'bilinear': cv2.INTER_LINEAR,
    'bicubic': cv2.INTER_CUBIC,
    'area': cv2.INTER_AREA,
    'lanczos': cv2.INTER_LANCZOS4,
}
_PREPROCESSORS = {('mmaction', 'ActionDataPreprocessor'),
                  ('stad', 'ChannelsLastActionDataPreprocessor')}
_PREPROCESSOR_KEYS = {'type', 'mean', 'std', 'to_rgb', 'to_float32',
                      'blending', 'format_shape'}


def _type_of(step: dict, default_scope: str) -> tuple[str, str]:
    """``(scope, name)`` of a config step's ``type`` (``'mmaction.Resize'`` or
    ``'Resize'`` under the config's default scope)."""
    name = step.get('type')
    if not isinstance(name, str):
        return '', repr(name)
    scope, _, short = name.rpartition('.')
    return scope or default_scope, short


@dataclass(frozen=True)
class _Resize:
    """One mmaction2 ``Resize`` step (its ``__init__`` normalisation of ``scale``)."""
    scale: Any  # float, or a tuple (w, h) / (long, short) with np.inf for a -1
    keep_ratio: bool
    interpolation: int

    def new_size(self, w: int, h: int) -> tuple[int, int]:
        """``(new_w, new_h)`` of a ``w`` x ``h`` frame: ``Resize.transform`` with mmcv's
        ``rescale_size`` and ``_scale_size``."""
        if not self.keep_ratio:
            return self.scale
        if isinstance(self.scale, float):
            factor = self.scale
        else:
            factor = min(max(self.scale) / max(h, w), min(self.scale) / min(h, w))
        return int(w * float(factor) + 0.5), int(h * float(factor) + 0.5)


def _parse_resize(step: dict, where: str) -> _Resize:
    unknown = sorted(set(step) - {'type', 'scale', 'keep_ratio', 'interpolation', 'lazy'})
    if unknown:
        raise StadError(f'{where}: unknown arguments {unknown}')
    if step.get('lazy', False):
        raise StadError(f'{where}: lazy=True is not supported')
    scale = step.get('scale')
    keep_ratio = bool(step.get('keep_ratio', True))
    interpolation = step.get('interpolation', 'bilinear')
    if interpolation not in INTERPOLATION:
        raise StadError(f'{where}: interpolation {interpolation!r} is not one of '
                        f'{sorted(INTERPOLATION)}')
    # mmaction2's Resize.__init__: a float or a tuple; a -1 edge becomes unbounded
    if isinstance(scale, float) and not isinstance(scale, bool):
        if scale <= 0:
            raise StadError(f'{where}: scale {scale} must be positive')
        if not keep_ratio:
            raise StadError(f'{where}: a float scale needs keep_ratio=True')
    elif (isinstance(scale, tuple) and len(scale) == 2
          and all(isinstance(s, int) and not isinstance(s, bool) for s in scale)):
        if min(scale) == -1 and max(scale) > 0:
            scale = (np.inf, max(scale))
            if not keep_ratio:
                raise StadError(f'{where}: a -1 in scale needs keep_ratio=True')
        elif min(scale) <= 0:
            raise StadError(f'{where}: scale {scale} must be positive (or -1)')
    else:
        raise StadError(f'{where}: scale must be a float or a tuple of two ints, got '
                        f'{scale!r}')
    return _Resize(scale=scale, keep_ratio=keep_ratio,
                   interpolation=INTERPOLATION[interpolation])


@dataclass(frozen=True)
class ClipPrep:
    """An action config's clip preparation (test pipeline after decoding, data
    preprocessor, RoIs) without torch: :meth:`from_config`, then :meth:`prepare`.

    Attributes:
        clip_len: frames per clip (the pipeline's ``SampleAVAFrames``).
        frame_interval: step between clip frames.
        resizes: the pipeline's ``Resize`` steps, in order.
        mean: per-channel mean, ``float32`` ``(C, 1, 1)``, or ``None`` (no normalisation).
        std: per-channel standard deviation, like ``mean``.
        to_rgb: reverse the channel order before normalising (the preprocessor's
            ``to_rgb``).
    """
    clip_len: int
    frame_interval: int
    resizes: tuple
    mean: np.ndarray | None
    std: np.ndarray | None
    to_rgb: bool

    @classmethod
    def from_config(cls, cfg) -> ClipPrep:
        """Read the clip preparation of an action model's mmengine ``Config``.

        Args:
            cfg: the config (``cfg_options`` merged), as ``load_action_model`` uses it.

        Raises:
            StadError: one line naming the config file and the step: the test pipeline
                has no clip sampling or decoding, or after decoding a step other than
                mmaction2's ``Resize`` (``lazy=False``), ``FormatShape('NCTHW',
                collapse=True)`` and a final ``PackActionInputs``; or the model's
                data preprocessor is not mmaction2's ``ActionDataPreprocessor`` (or
                stad's channels-last one) with ``format_shape='NCTHW'``.
        """
        name = getattr(cfg, 'filename', None) or '<config>'
        sample, after = _split_pipeline(cfg)
        scope = cfg.get('default_scope', 'mmaction') or 'mmaction'
        resizes = []
        formatted = packed = False
        for step in after:
            step = dict(step)
            step_scope, kind = _type_of(step, scope)
            where = f'{name}: test pipeline step {step.get("type")}'
            unsupported = (f'{where}: not supported without torch (after decoding, only '
                           'Resize, FormatShape and a final PackActionInputs of mmaction2)')
            if step_scope != 'mmaction' or packed:
                raise StadError(unsupported)
            if kind == 'Resize' and not formatted:
                resizes.append(_parse_resize(step, where))
            elif kind == 'FormatShape' and not formatted:
                if (step.get('input_format') != 'NCTHW' or not step.get('collapse', False)
                        or set(step) - {'type', 'input_format', 'collapse'}):
                    raise StadError(f'{where}: only input_format=\'NCTHW\' with '
                                    f'collapse=True is supported without torch (got '
                                    f'{ {k: v for k, v in step.items() if k != "type"} })')
                formatted = True
            elif kind == 'PackActionInputs' and formatted:
                if step.get('collect_keys') is not None:
                    raise StadError(f'{where}: collect_keys is not supported without torch')
                packed = True
            else:
                raise StadError(unsupported)
        if not packed:
            raise StadError(f'{name}: test pipeline does not end with FormatShape and '
                            'PackActionInputs')
        mean, std, to_rgb = _preprocessor(cfg, name, scope)
        return cls(clip_len=int(sample['clip_len']),
                   frame_interval=int(sample.get('frame_interval', 2)),
                   resizes=tuple(resizes), mean=mean, std=std, to_rgb=to_rgb)

    def prepare(self, frames, keyframes: Sequence[int], boxes: Sequence[np.ndarray], *,
                normalized: bool, video: str) -> tuple[np.ndarray, np.ndarray]:
        """Clips and boxes of keyframes, as ``prepare_batch``'s ``inputs`` and ``rois``.

        Args:
            frames: the video's decoded frames, RGB (:mod:`stad.apis.action`).
            keyframes: 1-based frame numbers.
            boxes: per keyframe an ``(N_k, 4)`` (or ``(N_k, 5)``) array of person boxes.
            normalized: boxes are fractions of width/height (``True``) or pixels.
            video: video id, for messages.

        Returns:
            ``(inputs, rois)``: ``float32`` ``(N, 3, T, H, W)`` normalised clips (C
            order) and ``float32`` ``(K, 5)`` rows ``[clip index, x1, y1, x2, y2]`` in
            pixels of the resized clip.

        Raises:
            StadError: no keyframes, not as many box arrays as keyframes, a keyframe
                outside the video or malformed boxes (the messages of
                ``prepare_batch``).
        """
        if len(keyframes) != len(boxes):
            raise StadError(f'{video}: {len(keyframes)} keyframes but {len(boxes)} box '
                            'arrays')
        if not len(keyframes):
            raise StadError(f'{video}: no keyframes to prepare')
        n = _num_frames(frames)
        inds = [clip_indices(int(k), n, clip_len=self.clip_len,
                             frame_interval=self.frame_interval) for k in keyframes]
        # each frame decoded, resized and normalised once, however many clips share it
        wanted = np.unique(np.concatenate(inds))
        decoded = _take(frames, wanted)
        h, w = decoded[0].shape[:2]
        sizes, factors = [], []
        cw, ch = w, h
        for r in self.resizes:
            nw, nh = r.new_size(cw, ch)
            sizes.append((nw, nh))
            factors.append(np.array([nw / cw, nh / ch], dtype=np.float32))
            cw, ch = nw, nh
        inputs = np.empty((len(keyframes), 3, self.clip_len, ch, cw), dtype=np.float32)
        slot = {int(i): j for j, i in enumerate(wanted)}
        ready = [self._frame(img, sizes) for img in decoded]
        del decoded
        rois = []
        for c, (k, clip, b) in enumerate(zip(keyframes, inds, boxes)):
            for t, i in enumerate(clip):
                inputs[c, :, t] = ready[slot[int(i)]]
            px = _pixel_boxes(b, h, w, normalized, f'{video} frame {int(k)}')
            for f in factors:  # Resize._box_resize
                px = px * np.concatenate([f, f])
            rois.append(np.concatenate([np.full((len(px), 1), c, dtype=px.dtype), px], 1))
        return inputs, widen_small_rois(np.concatenate(rois, 0))

    def _frame(self, img: np.ndarray, sizes: list) -> np.ndarray:
        """One decoded ``(H, W, 3)`` frame resized and normalised: ``(3, H', W')``."""
        for r, size in zip(self.resizes, sizes):
            img = cv2.resize(img, size, interpolation=r.interpolation)  # mmcv.imresize
        out = np.empty((3, *img.shape[:2]), np.float32)
        for c in range(3):  # channel by channel: no strided CHW float copy (5x faster)
            src = img[..., 2 - c if self.to_rgb else c]
            if self.mean is None:
                out[c] = src
            else:  # torch: uint8 - float32 -> float32, then / float32
                m, s = (a[c if len(a) == 3 else 0, 0, 0] for a in (self.mean, self.std))
                np.divide(np.subtract(src, m, dtype=np.float32), s, out=out[c])
        return out

    @staticmethod
    def mirror(inputs: np.ndarray, rois: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The horizontally flipped clips and boxes of ``predict_keyframes``' flip test
        (as mmaction2's ``Flip``: ``x -> width - x``); new contiguous arrays."""
        return np.ascontiguousarray(inputs[..., ::-1]), mirror_rois(rois, int(inputs.shape[-1]))


def _preprocessor(cfg, name: str, scope: str) -> tuple:
    """``(mean, std, to_rgb)`` of the model's data preprocessor (module docstring)."""
    model = cfg.get('model') or {}
    pre = model.get('data_preprocessor')
    if not pre:
        raise StadError(f'{name}: model.data_preprocessor is not set: not supported '
                        'without torch')
    pre = dict(pre)
    pre_scope, kind = _type_of(pre, scope)
    where = f'{name}: model.data_preprocessor {pre.get("type")}'
    if (pre_scope, kind) not in _PREPROCESSORS:
        raise StadError(f'{where}: not supported without torch (only mmaction2\'s '
                        'ActionDataPreprocessor and stad.ChannelsLastActionDataPreprocessor)')
    unknown = sorted(set(pre) - _PREPROCESSOR_KEYS)
    if unknown:
        raise StadError(f'{where}: unknown arguments {unknown}')
    if pre.get('format_shape', 'NCHW') != 'NCTHW':
        raise StadError(f'{where}: format_shape {pre.get("format_shape", "NCHW")!r} is not '
                        'supported without torch (only \'NCTHW\')')
    mean, std = pre.get('mean'), pre.get('std')
    if mean is None:
        if not pre.get('to_float32', True):
            raise StadError(f'{where}: to_float32=False is not supported without torch')
        return None, None, bool(pre.get('to_rgb'))
    if std is None:
        raise StadError(f'{where}: mean without std')
    mean = np.asarray(mean, dtype=np.float32).reshape(-1, 1, 1)
    std = np.asarray(std, dtype=np.float32).reshape(-1, 1, 1)
    if len(mean) not in (1, 3) or len(std) not in (1, 3):
        raise StadError(f'{where}: mean and std need 1 or 3 values (got {len(mean)} and '
                        f'{len(std)})')
    return mean, std, bool(pre.get('to_rgb'))
