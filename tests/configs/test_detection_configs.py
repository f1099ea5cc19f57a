"""Every person-detector config loads, inherits upstream and detects one class 'person'."""
import glob
import os

import pytest
from mmengine.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DET_CONFIGS = sorted(glob.glob(os.path.join(ROOT, 'configs', 'detection', '*.py')))


def test_there_are_two_detector_configs():
    assert len(DET_CONFIGS) >= 2


@pytest.mark.parametrize('path', DET_CONFIGS, ids=[os.path.basename(p) for p in DET_CONFIGS])
def test_detector_config(path):
    with open(path) as f:
        assert "_base_ = ['mmdet::" in f.read(), 'inherit mmdet configs, do not paste them'
    cfg = Config.fromfile(path)
    assert cfg.custom_imports == dict(imports=['stad'], allow_failed_imports=False)
    assert cfg.default_scope == 'mmdet'
    assert cfg.model.roi_head.bbox_head.num_classes == 1
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = cfg[loader].dataset
        assert ds.metainfo['classes'] == ('person', )
        assert ds.ann_file.startswith('annotations/multisports_det_anno_')
        assert ds.data_prefix == dict(img='rawframes/')
    assert cfg.val_evaluator.type == 'CocoMetric' and cfg.val_evaluator.metric == 'bbox'
    assert cfg.val_evaluator.ann_file == cfg.val_dataloader.dataset.data_root + \
        cfg.val_dataloader.dataset.ann_file


def test_cpu_config_is_small_and_from_scratch():
    (path, ) = [p for p in DET_CONFIGS if 'synthetic' in p]
    cfg = Config.fromfile(path)
    assert cfg.load_from is None and cfg.model.backbone.init_cfg is None
    assert cfg.model.backbone.depth == 18 and cfg.model.neck.out_channels == 64
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    assert cfg.default_hooks.checkpoint.max_keep_ckpts == 2
