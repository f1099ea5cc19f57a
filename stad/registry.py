"""stad's registries: children of mmengine's root registries.

mmengine resolves a scope prefix (``'stad.X'``) only among the root's direct children,
so these nodes hang under mmengine's roots (as mmyolo's do), not under mmaction's: that
way ``type='stad.X'`` resolves from inside ``FastRCNN(_scope_='mmdet')`` and from
configs whose ``default_scope`` is ``'mmaction'`` or ``'mmdet'``.
"""
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='stad', locations=['stad.models'])
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope='stad', locations=['stad.data'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, scope='stad',
                      locations=['stad.data'])
METRICS = Registry('metric', parent=MMENGINE_METRICS, scope='stad',
                   locations=['stad.evaluation'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='stad')  # none registered yet

ALL_REGISTRIES = dict(models=MODELS, datasets=DATASETS, transforms=TRANSFORMS,
                      metrics=METRICS, hooks=HOOKS)
