"""Small package-wide helpers."""
import importlib

# Modules that register into stad.registry by import side effect. Each pipeline layer
# adds its module here once it registers something.
REGISTERING_MODULES: list = [
    'stad.evaluation',
    'stad.data.transforms',
]


def register_all_modules() -> None:
    """Import every module that registers into :mod:`stad.registry`."""
    for name in REGISTERING_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:  # a real missing dependency, not a layer not written yet
                raise
