"""stad's registries: children of mmengine's root registries.

mmengine resolves a scope prefix (``'stad.X'``) only among the root's direct children,
so these nodes hang under mmengine's roots (as mmyolo's do), not under mmaction's: that
way ``type='stad.X'`` resolves from inside ``FastRCNN(_scope_='mmdet')`` and from
configs whose ``default_scope`` is ``'mmaction'`` or ``'mmdet'``. ``locations`` are the
modules that register into each, imported by mmengine on first lookup.
"""
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='stad',
                  locations=['stad.models.data_preprocessors'])
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope='stad',
                    locations=['stad.data.datasets'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, scope='stad',
                      locations=['stad.data.transforms'])
METRICS = Registry('metric', parent=MMENGINE_METRICS, scope='stad',
                   locations=['stad.evaluation.multisports_metric'])

ALL_REGISTRIES = dict(models=MODELS, datasets=DATASETS, transforms=TRANSFORMS,
                      metrics=METRICS)
# modules that register into the registries above and that ``import stad`` imports (the
# models, which import mmaction2's model zoo, only on first lookup, through ``locations``)
REGISTERING_MODULES = ('stad.data.datasets', 'stad.data.transforms',
                       'stad.evaluation.multisports_metric')
