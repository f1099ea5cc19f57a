"""Every action config loads, and the CPU config agrees with stad/io/layout.py."""
import glob
import os

import pytest
from action_helpers import CPU_CONFIG, ROOT
from mmengine.config import Config

from stad.io.layout import MULTISPORTS_AVA_KWARGS, DataLayout

CONFIGS = sorted(glob.glob(os.path.join(ROOT, 'configs', 'action', '*.py')))


def test_there_are_action_configs():
    names = [os.path.basename(p) for p in CONFIGS]
    assert os.path.basename(CPU_CONFIG) in names
    assert 'slowonly_k400-pre-r50_8xb16-4x16x1-8e_multisports-rgb.py' in names


@pytest.mark.parametrize('path', CONFIGS, ids=[os.path.basename(p) for p in CONFIGS])
def test_config_loads(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports == dict(imports=['stad'], allow_failed_imports=False)
    assert cfg.default_scope == 'mmaction'
    head = cfg.model.roi_head.bbox_head
    topk = head.get('topk', (3, 5))
    topk = (topk,) if isinstance(topk, int) else topk
    assert all(k < head.num_classes for k in topk), 'BBoxHeadAVA asserts topk < num_classes'
    # name rule {algorithm}_{module}_{training}_{data}.py
    assert len(os.path.basename(path)[:-3].split('_')) == 4
    # paths and MultiSports kwargs are those of stad/io/layout.py
    root = cfg.data_root
    lay = DataLayout(root)
    for split, loader in (('train', cfg.train_dataloader), ('val', cfg.val_dataloader),
                          ('val', cfg.test_dataloader)):
        ds = loader.dataset
        assert ds.ann_file == lay.csv(split)
        assert ds.proposal_file == lay.proposals(split)
        assert ds.data_prefix.img == lay.video_dir
        # MultiSports' frame arithmetic is pinned by the dataset class, not copied in
        assert ds.type == 'stad.MultiSportsDataset'
        # (the real-data config inherits upstream's equal values; the class refuses others)
        assert all(ds.get(k, v) == v for k, v in MULTISPORTS_AVA_KWARGS.items()), split
    assert cfg.val_evaluator.ann_file == lay.gt_file


def test_cpu_config_sizes():
    cfg = Config.fromfile(CPU_CONFIG)
    assert cfg.model.backbone.depth == 18 and cfg.model.init_cfg is None
    head = cfg.model.roi_head.bbox_head
    assert head.num_classes == 4 and head.multilabel is False
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.train_dataloader.num_workers <= 2
    # train and test clips are sampled alike; flip only in training
    steps = {t.type: t for t in cfg.train_dataloader.dataset.pipeline}
    test_steps = {t.type: t for t in cfg.val_dataloader.dataset.pipeline}
    for k in ('clip_len', 'frame_interval'):
        assert steps['SampleAVAFrames'][k] == test_steps['SampleAVAFrames'][k]
    assert steps['Flip'].flip_ratio == 0.5 and 'Flip' not in test_steps
    assert test_steps['SampleAVAFrames'].test_mode is True
