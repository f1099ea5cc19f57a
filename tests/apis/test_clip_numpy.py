"""stad.apis.clip_numpy: the torch-free clip preparation gives prepare_batch's arrays.

Both routes run on the same frames and boxes, on action models with random weights (the
weights play no part: only the pipeline and the data preprocessor do)."""
from __future__ import annotations

import copy
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from stad.errors import StadError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SYNTH = os.path.join(ROOT, 'configs', 'action',
                     'slowonly_scratch-r18-c16_1xb8-4x4x1-2400i_synthetic-rgb.py')
MULTISPORTS = os.path.join(ROOT, 'configs', 'action',
                           'slowonly_k400-pre-r50_8xb16-4x16x1-8e_multisports-rgb.py')
RESIZE = 'test_dataloader.dataset.pipeline.3'  # the Resize step of both configs
PRE = 'model.data_preprocessor'

# (config, cfg_options): the pipelines and preprocessors to compare
CASES = {
    'synthetic': (SYNTH, {}),
    'short-side-100': (SYNTH, {f'{RESIZE}.scale': (-1, 100)}),
    'long-short-340-256': (SYNTH, {f'{RESIZE}.scale': (340, 256)}),
    'fixed-200x100': (SYNTH, {f'{RESIZE}.scale': (200, 100), f'{RESIZE}.keep_ratio': False}),
    'factor-0.7-nearest': (SYNTH, {f'{RESIZE}.scale': 0.7,
                                   f'{RESIZE}.interpolation': 'nearest'}),
    'to-rgb-mmaction-preprocessor': (SYNTH, {f'{PRE}.type': 'mmaction.ActionDataPreprocessor',
                                             f'{PRE}.to_rgb': True}),
    'multisports': (MULTISPORTS, {}),
}
SIZES = [(320, 240), (240, 320), (100, 60)]  # width, height
KEYFRAMES = [1, 2, 11, 20]  # first and last: clamped clips
NUM_FRAMES = 20

_models: dict = {}


def _action_model(case: str):
    if case not in _models:
        from stad.apis.action import load_action_model
        config, opts = CASES[case]
        _models[case] = load_action_model(config, None, cfg_options=opts)
    return _models[case]


def _frames(w: int, h: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (NUM_FRAMES, h, w, 3), dtype=np.uint8)


def _boxes(w: int, h: int, normalized: bool) -> list:
    """Per keyframe: ordinary boxes with a score column, a 0.05-px wide box at the right
    edge and a 0.05-px high one at the bottom (both widened to 1 px), no boxes at all."""
    px = [
        np.array([[10, 20, 0.5 * w, 0.9 * h, 0.9], [0.3 * w, 0.1 * h, 0.7 * w, 0.6 * h, 0.4]]),
        np.array([[w - 0.05, 0.2 * h, w, 0.8 * h, 0.7], [0, h - 0.05, 0.5 * w, h, 0.6]]),
        np.zeros((0, 5)),
        np.array([[0.25 * w, 0.25 * h, 0.75 * w, 0.75 * h]]),
    ]
    if normalized:
        return [b / np.array([w, h, w, h, 1][:b.shape[1]]) for b in px]
    return px


class _Reader:
    """decord's VideoReader interface over an array."""

    def __init__(self, frames):
        self.frames = frames

    def __len__(self):
        return len(self.frames)

    def get_batch(self, inds):
        from stad.io.video import _Batch
        return _Batch(self.frames[list(inds)])


def _torch_route(am, frames, keyframes, boxes, normalized):
    from stad.apis.action import prepare_batch
    inputs, rois, _ = prepare_batch(am, frames, keyframes, boxes, normalized=normalized,
                                    video='v')
    return inputs.numpy(), rois.numpy()


@pytest.mark.parametrize('case', list(CASES))
def test_same_arrays_as_prepare_batch(case):
    from stad.apis.clip_numpy import ClipPrep
    am = _action_model(case)
    prep = ClipPrep.from_config(am.cfg)
    for w, h in SIZES:
        frames = _frames(w, h)
        for normalized in (True, False):
            boxes = _boxes(w, h, normalized)
            want_x, want_r = _torch_route(am, frames, KEYFRAMES, boxes, normalized)
            x, r = prep.prepare(frames, KEYFRAMES, boxes, normalized=normalized, video='v')
            where = f'{case} {w}x{h} normalized={normalized}'
            assert x.dtype == np.float32 and r.dtype == np.float32, where
            assert x.flags['C_CONTIGUOUS'], where
            assert x.shape == want_x.shape and r.shape == want_r.shape, where
            np.testing.assert_allclose(x, want_x, rtol=0, atol=1e-5, err_msg=where)
            np.testing.assert_allclose(r, want_r, rtol=0, atol=1e-4, err_msg=where)
            # the two 0.05-px boxes (one per axis) came out 1 px wide / high
            for lo, hi in ((1, 3), (2, 4)):
                size = r[:, hi] - r[:, lo]
                assert np.all(size >= 1 - 1e-4) and np.sum(np.abs(size - 1) < 1e-4) >= 1, where


def test_a_video_reader_and_one_keyframe():
    from stad.apis.clip_numpy import ClipPrep
    am = _action_model('synthetic')
    prep = ClipPrep.from_config(am.cfg)
    frames = _frames(320, 240, seed=1)
    boxes = [np.array([[0.1, 0.2, 0.3, 0.9]])]
    for keyframes in ([7], [20, 3, 3]):
        bs = boxes * len(keyframes)
        want_x, want_r = _torch_route(am, _Reader(frames), keyframes, bs, True)
        x, r = prep.prepare(_Reader(frames), keyframes, bs, normalized=True, video='v')
        np.testing.assert_array_equal(x, want_x)
        np.testing.assert_array_equal(r, want_r)


def test_mirror_is_the_flip_test_clip():
    import torch

    from stad.apis.clip_numpy import ClipPrep
    am = _action_model('synthetic')
    prep = ClipPrep.from_config(am.cfg)
    frames = _frames(240, 320)
    boxes = _boxes(240, 320, True)
    x, r = prep.prepare(frames, KEYFRAMES, boxes, normalized=True, video='v')
    mx, mr = prep.mirror(x, r)
    # predict_keyframes' flip test
    inputs, rois = torch.from_numpy(x.copy()), torch.from_numpy(r.copy())
    width = inputs.shape[-1]
    mirrored = rois.clone()
    mirrored[:, 1], mirrored[:, 3] = width - rois[:, 3], width - rois[:, 1]
    np.testing.assert_array_equal(mx, inputs.flip(-1).numpy())
    np.testing.assert_array_equal(mr, mirrored.numpy())
    assert mx.flags['C_CONTIGUOUS'] and mr.dtype == np.float32
    np.testing.assert_array_equal(r, rois.numpy())  # inputs unchanged


@pytest.mark.parametrize('keyframes, boxes', [
    ([1], [np.zeros(4)]),  # not (N, 4)
    ([1], [np.zeros((1, 6))]),
    ([1], [np.array([[0.1, 0.1, 1.5, 0.5]])]),  # normalized beyond the frame
    ([21], [np.array([[0.1, 0.1, 0.5, 0.5]])]),  # keyframe outside the video
    ([0], [np.array([[0.1, 0.1, 0.5, 0.5]])]),
])
def test_bad_input_raises_as_prepare_batch(keyframes, boxes):
    from stad.apis.clip_numpy import ClipPrep
    am = _action_model('synthetic')
    frames = _frames(100, 60)
    with pytest.raises(StadError) as want:
        _torch_route(am, frames, keyframes, boxes, True)
    with pytest.raises(StadError) as got:
        ClipPrep.from_config(am.cfg).prepare(frames, keyframes, boxes, normalized=True,
                                             video='v')
    assert str(got.value) == str(want.value)


def test_mismatched_or_no_keyframes_raise():
    from stad.apis.clip_numpy import ClipPrep
    prep = ClipPrep.from_config(_action_model('synthetic').cfg)
    frames = _frames(100, 60)
    with pytest.raises(StadError, match=r'^v: 2 keyframes but 1 box arrays$'):
        prep.prepare(frames, [1, 2], [np.zeros((0, 4))], normalized=True, video='v')
    with pytest.raises(StadError, match=r'^v: no keyframes to prepare$'):
        prep.prepare(frames, [], [], normalized=True, video='v')


def _with_steps(cfg, steps):
    cfg = copy.deepcopy(cfg)
    pipeline = list(cfg.test_dataloader.dataset.pipeline)
    cfg.test_dataloader.dataset.pipeline = pipeline[:3] + steps
    return cfg


RESIZE_STEP = dict(type='Resize', scale=(-1, 160))
FORMAT = dict(type='FormatShape', input_format='NCTHW', collapse=True)
PACK = dict(type='PackActionInputs')


@pytest.mark.parametrize('steps, step', [
    ([RESIZE_STEP, dict(type='CenterCrop', crop_size=128), FORMAT, PACK], 'CenterCrop'),
    ([dict(type='Resize', scale=(-1, 160), lazy=True), FORMAT, PACK], 'Resize'),
    ([dict(type='Resize', scale=160), FORMAT, PACK], 'Resize'),  # mmaction refuses ints
    ([dict(type='Resize', scale=(-1, 160), keep_ratio=False), FORMAT, PACK], 'Resize'),
    ([dict(type='mmdet.Resize', scale=(-1, 160)), FORMAT, PACK], 'mmdet.Resize'),
    ([dict(type='Resize', scale=(-1, -1)), FORMAT, PACK], 'Resize'),
    ([RESIZE_STEP, dict(type='FormatShape', input_format='NCHW'), PACK], 'FormatShape'),
    ([RESIZE_STEP, dict(type='FormatShape', input_format='NCTHW'), PACK], 'FormatShape'),
    ([RESIZE_STEP, PACK, FORMAT], 'PackActionInputs'),
    ([RESIZE_STEP, FORMAT, PACK, dict(type='Flip', flip_ratio=1.0)], 'Flip'),
])
def test_unsupported_pipeline_step_raises(steps, step):
    from mmengine.config import Config

    from stad.apis.clip_numpy import ClipPrep
    cfg = _with_steps(Config.fromfile(SYNTH), steps)
    with pytest.raises(StadError) as e:
        ClipPrep.from_config(cfg)
    msg = str(e.value)
    assert msg.startswith(f'{SYNTH}: test pipeline step {step}') and '\n' not in msg, msg


@pytest.mark.parametrize('pre, match', [
    (dict(type='mmaction.ActionDataPreprocessor', mean=[0, 0, 0], std=[1, 1, 1]),
     "format_shape 'NCHW'"),
    (dict(type='mmdet.DetDataPreprocessor', format_shape='NCTHW'), 'not supported'),
    (dict(type='ActionDataPreprocessor', format_shape='NCTHW', mean=[0, 0, 0], std=[1, 1, 1],
          pad_size_divisor=32), "unknown arguments \\['pad_size_divisor'\\]"),
])
def test_unsupported_preprocessor_raises(pre, match):
    from mmengine.config import Config

    from stad.apis.clip_numpy import ClipPrep
    cfg = Config.fromfile(SYNTH)
    cfg.model.data_preprocessor = pre
    with pytest.raises(StadError, match=f'^{SYNTH}: model.data_preprocessor .*{match}'):
        ClipPrep.from_config(cfg)


_CHILD = textwrap.dedent('''
    import sys
    import numpy as np
    from mmengine.config import Config
    from stad.apis.clip_numpy import ClipPrep
    prep = ClipPrep.from_config(Config.fromfile(sys.argv[1]))
    frames = np.zeros((20, 60, 100, 3), dtype=np.uint8)
    x, r = prep.prepare(frames, [1, 10], [np.array([[0.1, 0.1, 0.5, 0.5, 0.9]])] * 2,
                        normalized=True, video='v')
    assert x.shape == (2, 3, 4, 160, 267) and r.shape == (2, 5), (x.shape, r.shape)
    print(sorted(m for m in ('torch', 'mmcv', 'mmaction', 'mmdet') if m in sys.modules))
''')


def _imported_stack() -> str:
    p = subprocess.run([sys.executable, '-c', _CHILD, SYNTH],
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def test_prepares_without_importing_torch():
    assert _imported_stack() == '[]'
