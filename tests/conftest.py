"""Shared fixtures.

``tiny_dataset``: a synthetic MultiSports-layout dataset (4 videos of 40 frames at
160x120: 3 train, 1 val; both sports), with annotations converted
(``annotations/``: COCO json, AVA csv, label map) and every frame extracted
(``rawframes/``). Session-scoped and read-only: copy it before changing anything.

``tiny_models``: checkpoints of randomly initialised detector and action models.

The decoded-frame cache (stad.data.transforms) goes to a temp folder ($STAD_CACHE_DIR).
"""

import pytest

import stad  # noqa: F401  (compat fixes before any mmaction.models import)


@pytest.fixture(scope='session')
def tiny_dataset(tmp_path_factory):
    """The :class:`stad.io.layout.DataLayout` of the tiny synthetic dataset."""
    from stad.data.convert import convert_gt
    from stad.data.frames import extract_frames
    from stad.data.synth import synth
    root = tmp_path_factory.mktemp('tiny_dataset')
    layout = synth(str(root), seed=0, videos=4, frames=40, size=(160, 120), progress=False)
    convert_gt(layout)
    extract_frames(layout, frames='all', workers=1, progress=False)
    return layout


@pytest.fixture(scope='session')
def tiny_models(tmp_path_factory):
    """(det checkpoint, action checkpoint) of randomly initialised models of the synthetic
    configs (no trained checkpoint in a unit test: shapes, flow, files and messages)."""
    import os

    import torch
    from mmdet.apis import init_detector

    from stad.apis.action import load_action_model
    from stad.tasks.run import SYNTH_ACTION_CONFIG, SYNTH_DET_CONFIG
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    d = tmp_path_factory.mktemp('random_models')
    torch.manual_seed(0)
    det = init_detector(os.path.join(root, SYNTH_DET_CONFIG), None, device='cpu')
    det_ckpt = str(d / 'det.pth')
    torch.save(dict(state_dict=det.state_dict(),
                    meta=dict(dataset_meta=dict(classes=('person', )))), det_ckpt)
    act_ckpt = str(d / 'action.pth')
    model = load_action_model(os.path.join(root, SYNTH_ACTION_CONFIG), None).model
    torch.save(dict(state_dict=model.state_dict()), act_ckpt)
    return det_ckpt, act_ckpt


@pytest.fixture(scope='session')
def truncate_video():
    """``truncate(path, keep=0.6)``: cut an mp4 like an interrupted download: the header
    (moved to the front) still lists every frame, only the first ``keep`` of the bytes
    remain, so fewer frames decode."""
    import os
    import subprocess

    import imageio_ffmpeg

    def truncate(path: str, keep: float = 0.6) -> None:
        full = path + '.full.mp4'
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), '-v', 'error', '-y', '-i', path,
                        '-c', 'copy', '-movflags', '+faststart', full], check=True)
        with open(full, 'rb') as f:
            data = f.read()
        os.remove(full)
        with open(path, 'wb') as f:
            f.write(data[:int(len(data) * keep)])
    return truncate


@pytest.fixture(scope='session', autouse=True)
def _frame_cache_dir(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv('STAD_CACHE_DIR', str(tmp_path_factory.mktemp('frame_cache')))
        yield
