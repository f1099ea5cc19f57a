"""Checkpoints are read safely and loaded strictly: every bad ``.pth`` is one line.

Real (randomly initialised) checkpoints of the synthetic configs' models, saved as the
demo tests save them; a detector checkpoint given as the action model's, an action
checkpoint given as the detector's, a damaged or crafted file: each is refused with one
line naming the file, through the API and through ``stad demo``.
"""
import contextlib
import os
import re

import numpy as np
import pytest
import torch

import stad  # noqa: F401  (compat fixes before mmaction is imported)
from stad.errors import StadError
from stad.io.checkpoint import read_checkpoint
from stad.io.video import write_mp4
from stad.tasks.run import SYNTH_ACTION_CONFIG, SYNTH_DET_CONFIG


class _Evil:
    """Unpickling this runs ``touch marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


@pytest.fixture(scope='module')
def ckpts(tmp_path_factory):
    """Paths of checkpoints of randomly initialised models: ``det`` (meta holds
    ``dataset_meta`` classes ('person',), as training writes), ``det_no_meta``,
    ``action``."""
    from mmdet.apis import init_detector

    from stad.apis.action import load_action_model
    d = tmp_path_factory.mktemp('ckpts')
    torch.manual_seed(0)
    det = init_detector(SYNTH_DET_CONFIG, None, device='cpu').state_dict()
    action = load_action_model(SYNTH_ACTION_CONFIG, None).model.state_dict()
    paths = dict(det=str(d / 'det.pth'), det_no_meta=str(d / 'det_no_meta.pth'),
                 action=str(d / 'action.pth'))
    torch.save(dict(state_dict=det, meta=dict(dataset_meta=dict(CLASSES=('person',)))),
               paths['det'])
    torch.save(dict(state_dict=det, meta={}), paths['det_no_meta'])
    torch.save(dict(state_dict=action, meta={}), paths['action'])
    return paths


def _bad_file(tmp_path, kind):
    """A ``.pth`` that is not a usable checkpoint, and the start of its one-line error
    (after ``path: ``)."""
    path = tmp_path / f'{kind}.pth'
    if kind == 'truncated':
        torch.save(dict(state_dict={'w': torch.zeros(100)}), path)
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2])  # a copy or download cut short
        return str(path), 'not a readable action model checkpoint: truncated, damaged'
    if kind == 'text':
        path.write_text('version https://git-lfs.github.com/spec/v1\n')  # an LFS pointer
        return str(path), 'not a readable action model checkpoint: truncated, damaged'
    if kind == 'empty':
        path.write_bytes(b'')
        return str(path), 'not a readable action model checkpoint: truncated, damaged'
    if kind == 'crafted':
        torch.save(dict(state_dict={}, meta=dict(x=_Evil(tmp_path / 'pwned'))), path)
        return str(path), ('refused to load the action model checkpoint: it names global '
                           'posix.system, which torch.load(weights_only=True) does not allow')
    if kind == 'list':
        torch.save([torch.zeros(2)], path)
        return str(path), 'not a usable action model checkpoint: it holds a list, not a dict'
    if kind == 'no_state_dict':
        torch.save({'conv.weight': torch.zeros(2)}, path)
        return str(path), ('not a usable action model checkpoint: it holds a dict without state_dict '
                           '(keys: conv.weight), not a dict with state_dict')
    raise ValueError(kind)


BAD = ['truncated', 'text', 'empty', 'crafted', 'list', 'no_state_dict']


@pytest.mark.parametrize('kind', BAD)
def test_bad_checkpoint_is_one_line_naming_the_file(tmp_path, kind):
    path, start = _bad_file(tmp_path, kind)
    with pytest.raises(StadError) as e:
        read_checkpoint(path, 'action model')
    msg = str(e.value)
    assert msg.startswith(f'{path}: {start}'), msg
    assert '\n' not in msg
    if kind == 'text':  # says what the user has to do
        assert msg.endswith(': a Git LFS pointer, not the file (git lfs pull)'), msg
    assert not (tmp_path / 'pwned').exists(), 'the pickled code ran'


def test_missing_checkpoint(tmp_path):
    with pytest.raises(StadError, match=f'^{re.escape(str(tmp_path))}/no.pth: detector '
                                        'checkpoint not found$'):
        read_checkpoint(str(tmp_path / 'no.pth'), 'detector')


def test_checkpoints_of_the_right_model_load_exactly(ckpts, tmp_path):
    from mmdet.apis import init_detector

    from stad.apis.action import load_action_model
    from stad.apis.detect import load_detector
    saved = torch.load(ckpts['action'])['state_dict']
    got = load_action_model(SYNTH_ACTION_CONFIG, ckpts['action']).model.state_dict()
    assert all(torch.equal(got[k], saved[k]) for k in saved)
    # saved from a DDP-wrapped model ('module.' prefixes): mmengine strips them, so do we
    ddp = str(tmp_path / 'ddp.pth')
    torch.save(dict(state_dict={f'module.{k}': v for k, v in saved.items()}), ddp)
    got = load_action_model(SYNTH_ACTION_CONFIG, ddp).model.state_dict()
    assert all(torch.equal(got[k], saved[k]) for k in saved)

    for name in ('det', 'det_no_meta'):
        det = load_detector(SYNTH_DET_CONFIG, ckpts[name])
        saved = torch.load(ckpts[name])['state_dict']
        got = det.state_dict()
        assert all(torch.equal(got[k], saved[k]) for k in saved)
        assert not det.training
        # classes and palette exactly as mmdet's own init_detector sets them
        with pytest.warns(UserWarning) if name == 'det_no_meta' else contextlib.nullcontext():
            ref = init_detector(SYNTH_DET_CONFIG, ckpts[name], device='cpu')
        assert det.dataset_meta == ref.dataset_meta
    assert load_detector(SYNTH_DET_CONFIG, ckpts['det']).dataset_meta['classes'] == ('person',)


def test_detector_checkpoint_as_the_action_model_is_refused(ckpts):
    from stad.apis.action import load_action_model
    with pytest.raises(StadError) as e:
        load_action_model(SYNTH_ACTION_CONFIG, ckpts['det'])
    assert re.fullmatch(
        re.escape(ckpts['det']) + r": not a checkpoint of this action model \(\d+ weights "
        r"missing, e\.g\. 'backbone\.conv1\.conv\.weight'; \d+ unexpected, e\.g\. '[\w.]+'; "
        r"2 of another shape, e\.g\. 'roi_head\.bbox_head\.fc_cls\.weight' \(checkpoint "
        r"\d+x\d+, model 4x128\)\): a detector checkpoint\?", str(e.value)), str(e.value)


def test_action_checkpoint_as_the_detector_is_refused(ckpts):
    from stad.apis.detect import load_detector
    with pytest.raises(StadError, match=re.escape(ckpts['action']) + r': not a checkpoint of '
                       r"this detector \(\d+ weights missing, e\.g\. 'backbone\.conv1\.weight'"
                       r'.*\): an action model checkpoint\?$'):
        load_detector(SYNTH_DET_CONFIG, ckpts['action'])


def test_checkpoint_of_another_number_of_classes_is_refused(ckpts, tmp_path):
    from stad.apis.action import load_action_model
    ck = torch.load(ckpts['action'])
    ck['state_dict']['roi_head.bbox_head.fc_cls.weight'] = torch.zeros(7, 128)
    path = str(tmp_path / 'seven.pth')
    torch.save(ck, path)
    with pytest.raises(StadError) as e:
        load_action_model(SYNTH_ACTION_CONFIG, path)
    assert str(e.value) == (
        f"{path}: not a checkpoint of this action model (1 of another shape, e.g. "
        "'roi_head.bbox_head.fc_cls.weight' (checkpoint 7x128, model 4x128)): trained with "
        'another config (number of classes, channels)?')


# --- through `stad demo` ------------------------------------------------------------

def _video(path, n=20, w=96, h=72):
    def frames():
        for i in range(n):
            f = np.full((h, w, 3), 90, np.uint8)
            f[20:60, 5 + i:25 + i] = (200, 60, 40)
            yield f
    write_mp4(frames(), str(path), fps=10, size=(w, h))
    return str(path)


def _demo(tmp_path, det_ckpt, act_ckpt, capsys):
    from stad.cli import main
    out = tmp_path / 'out.mp4'
    rc = main(['demo', _video(tmp_path / 'in.mp4'), str(out), '--det-config', SYNTH_DET_CONFIG,
               '--det-checkpoint', det_ckpt, '--config', SYNTH_ACTION_CONFIG, '--checkpoint',
               act_ckpt, '--quiet'])
    assert not out.exists()
    return rc, capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.parametrize('kind', ['truncated', 'text', 'crafted'])
def test_demo_with_a_bad_action_checkpoint_is_one_line(ckpts, tmp_path, capsys, kind):
    path, start = _bad_file(tmp_path, kind)
    rc, last = _demo(tmp_path, ckpts['det'], path, capsys)
    assert rc == 2
    assert last.startswith(f'stad demo: error: {path}: {start}'), last
    assert not (tmp_path / 'pwned').exists(), 'the pickled code ran'


def test_demo_with_checkpoints_swapped_is_one_line(ckpts, tmp_path, capsys):
    rc, last = _demo(tmp_path, ckpts['action'], ckpts['det'], capsys)
    assert rc == 2
    assert last.startswith(f"stad demo: error: {ckpts['det']}: not a checkpoint of this "
                           'action model (') and last.endswith('a detector checkpoint?')


def test_demo_with_a_crafted_detector_checkpoint_is_one_line(ckpts, tmp_path, capsys):
    path = str(tmp_path / 'det.pth')
    torch.save(dict(state_dict={}, meta=dict(x=_Evil(tmp_path / 'pwned'))), path)
    rc, last = _demo(tmp_path, path, ckpts['action'], capsys)
    assert rc == 2
    assert last.startswith(f'stad demo: error: {path}: refused to load the detector '
                           'checkpoint: it names global posix.system')
    assert not (tmp_path / 'pwned').exists(), 'the pickled code ran'
