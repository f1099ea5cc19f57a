"""Every registered stad module builds, and every config file under configs/ loads and builds."""
import glob
import os

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

import stad  # noqa: F401
from stad.registry import ALL_REGISTRIES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(glob.glob(os.path.join(ROOT, 'configs', '**', '*.py'), recursive=True))

# Smallest valid arguments per registered module; a module registered without an entry
# here fails test_every_registered_module_has_build_args, so nothing escapes the test.
BUILD_ARGS = {
    'metrics': {
        'MultiSportsMAP': lambda tmp: dict(ann_file=_tiny_gt(tmp)),
    },
    'transforms': {
        'CachedDecordInit': lambda tmp: dict(cache_dir=tmp),
        'CachedDecordDecode': lambda tmp: dict(),
    },
    'models': {
        'ChannelsLastActionDataPreprocessor': lambda tmp: dict(format_shape='NCTHW'),
    },
    'datasets': {
        'MultiSportsDataset': lambda tmp: dict(ann_file=_tiny_csv(tmp), pipeline=[],
                                               data_prefix=dict(img=tmp), num_classes=3),
    },
}


def _tiny_csv(tmp):
    path = os.path.join(tmp, 'ann.csv')
    with open(path, 'w') as f:
        f.write('s/v1.mp4,2,0.100,0.100,0.500,0.900,1,0\n')
    return path


def test_multisports_dataset_pins_the_frame_arithmetic(tmp_path):
    from stad.data.datasets import MultiSportsDataset
    from stad.errors import StadError
    ds = MultiSportsDataset(**BUILD_ARGS['datasets']['MultiSportsDataset'](str(tmp_path)))
    # frame 2 of the CSV is the 2nd decoded frame (index 1): fps 1, timestamps from 1
    assert (ds._FPS, ds.timestamp_start, ds.start_index) == (1, 1, 0)
    info = ds.get_data_info(0)
    assert info['timestamp'] == 2 and info['img_key'] == 's/v1.mp4,0002'
    with pytest.raises(StadError, match='fps=30 contradicts MultiSports'):
        MultiSportsDataset(**BUILD_ARGS['datasets']['MultiSportsDataset'](str(tmp_path)),
                           fps=30)


def _tiny_gt(tmp):
    import pickle

    import numpy as np
    path = os.path.join(tmp, 'gt.pkl')
    tube = np.array([[1, 10, 10, 50, 90], [2, 11, 10, 51, 90]], dtype=np.float32)
    gt = dict(labels=['a', 'b'], train_videos=[['s/v1']], test_videos=[['s/v1']],
              nframes={'s/v1': 2}, resolution={'s/v1': (120, 160)}, gttubes={'s/v1': {0: [tube]}})
    with open(path, 'wb') as f:
        pickle.dump(gt, f)
    return path


def _registered():
    for reg_name, reg in ALL_REGISTRIES.items():
        reg.import_from_location()  # modules registered lazily, on first use in a config
        for name in reg.module_dict:
            yield reg_name, name


def test_registries_are_children_of_mmengine_root():
    for reg in ALL_REGISTRIES.values():
        assert reg.scope == 'stad'
        # a direct child of mmengine's root: 'stad.X' resolves from any scope
        assert reg.parent.scope == 'mmengine' and reg.parent.parent is None
        assert reg.parent._children['stad'] is reg


def test_every_registered_module_has_build_args():
    missing = [(r, n) for r, n in _registered() if n not in BUILD_ARGS.get(r, {})]
    assert not missing, f'add build arguments for {missing}'


@pytest.mark.parametrize('reg_name,name', list(_registered()))
def test_build_registered_module(reg_name, name, tmp_path):
    kwargs = BUILD_ARGS[reg_name][name](str(tmp_path))
    # built through a foreign default scope with the 'stad.' prefix, as configs do
    with DefaultScope.overwrite_default_scope('mmaction'):
        obj = ALL_REGISTRIES[reg_name].build(dict(type=f'stad.{name}', **kwargs))
    assert type(obj).__name__ == name


def test_there_are_configs():
    assert CONFIGS, 'no config files under configs/'


@pytest.mark.parametrize('path', CONFIGS, ids=[os.path.relpath(p, ROOT) for p in CONFIGS])
def test_config_loads_and_builds_model(path):
    cfg = Config.fromfile(path)
    assert cfg.get('custom_imports', {}).get('imports') == ['stad'], \
        'project configs import stad (compat fixes + registry)'
    scope = cfg.get('default_scope')
    assert scope in ('mmdet', 'mmaction')
    if scope == 'mmdet':
        import mmdet.models  # noqa: F401
        from mmdet.registry import MODELS
    else:
        import mmaction.models  # noqa: F401
        from mmaction.registry import MODELS
    model_cfg = cfg.model.copy()
    model_cfg.pop('init_cfg', None)  # no network: don't fetch pretrained weights
    if 'backbone' in model_cfg:
        model_cfg['backbone'] = {**model_cfg['backbone'], 'init_cfg': None}
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(model_cfg)
    assert sum(p.numel() for p in model.parameters()) > 0
