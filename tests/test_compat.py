"""The stack fixes of stad.compat, each proven in the situation a user hits."""
import os
import pickle
import subprocess
import sys
import uuid

import pytest
import torch

import stad  # noqa: F401  (applies the fixes)
from stad import compat

PY = sys.executable


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([PY, '-c', code], capture_output=True, text=True, timeout=300)


def test_mmaction_models_imports_after_stad():
    r = _run('import stad, mmaction.models; from mmaction.registry import MODELS; '
             'print(MODELS.get("FastRCNN") is not None or "FastRCNN" in str(MODELS))')
    assert r.returncode == 0, r.stderr
    # the placeholder is not registered as a model and explains itself when used
    from mmaction.models.localizers.drn.drn import DRN
    with pytest.raises(ImportError, match='without mmaction/models/localizers/drn'):
        DRN()


def test_mmaction_models_breaks_without_the_fix():
    """Documents the upstream bug; if a fixed mmaction2 ships the module, the shim is unused."""
    import mmaction
    real = os.path.join(os.path.dirname(mmaction.__file__), 'models', 'localizers', 'drn')
    if os.path.isdir(real):
        pytest.skip('this mmaction2 ships the drn module')
    r = _run('import mmaction.models')
    assert r.returncode != 0
    assert "No module named 'mmaction.models.localizers.drn'" in r.stderr


def test_custom_imports_apply_the_fix_in_a_config(tmp_path):
    """`mim train` / tools/train.py read the config first: custom_imports=['stad'] applies it."""
    cfg = tmp_path / 'c.py'
    cfg.write_text("custom_imports = dict(imports=['stad'], allow_failed_imports=False)\n")
    r = _run(f'from mmengine.config import Config; Config.fromfile({str(cfg)!r}); '
             'import mmaction.models; import torch; '
             'from mmengine.logging.history_buffer import HistoryBuffer; '
             'print(HistoryBuffer in torch.serialization.get_safe_globals())')
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith('True')


# the stack: `import stad` imports none of it (the fixes wait for it, see stad.compat)
_STACK = ('torch', 'mmcv', 'mmengine', 'mmaction', 'mmdet', 'scipy', 'matplotlib')
_ALLOWED = ("import torch\n"
            "print('allowed', any(getattr(g, '__qualname__', None) == 'HistoryBuffer' "
            "for g in torch.serialization.get_safe_globals()))\n")


def test_import_stad_imports_none_of_the_stack():
    r = _run(f'import sys, stad; print(*[m for m in {_STACK!r} if m in sys.modules])')
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ''


@pytest.mark.parametrize('first', [
    'import stad, torch',  # the hook after torch imports mmengine's history buffer
    'import stad, mmengine',  # mmengine imports torch half-way: its history buffer's hook
    'import torch, stad',  # torch was there: at once
    'import stad, mmdet.apis',
])
def test_checkpoint_globals_are_allowed_whatever_comes_first(first):
    r = _run(f'{first}\n{_ALLOWED}')
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == 'allowed True'


def test_stad_modules_register_on_first_lookup():
    """Configs name 'stad.X': mmengine imports stad.registry, whose registries import
    the registering modules; `import stad` does not import them."""
    r = _run('import sys, stad\n'
             "assert 'stad.data.datasets' not in sys.modules\n"
             'from mmaction.registry import DATASETS, METRICS\n'
             "print(DATASETS.get('stad.MultiSportsDataset').__name__, "
             "METRICS.get('stad.MultiSportsMAP').__name__)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == 'MultiSportsDataset MultiSportsMAP'


def test_a_failing_fix_warns_and_never_fails_the_import():
    r = _run('import warnings, stad.compat as c\n'
             "c.AFTER_IMPORT['colorsys'] = lambda: 1 / 0\n"
             'with warnings.catch_warnings(record=True) as w:\n'
             "    warnings.simplefilter('always')\n"
             '    import colorsys\n'
             'print(colorsys.rgb_to_hsv(1, 0, 0), str(w[0].message))')
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ('(0.0, 1.0, 1) stad.compat: the fix applied after importing '
                                'colorsys failed: ZeroDivisionError: division by zero')


class _Evil:
    def __reduce__(self):
        return (os.system, (f'touch {os.environ["STAD_EVIL_MARKER"]}',))


def test_checkpoint_with_arbitrary_object_is_refused(tmp_path, monkeypatch):
    from mmengine.runner import load_checkpoint  # noqa: F401
    from mmengine.runner.checkpoint import _load_checkpoint
    marker = tmp_path / 'pwned'
    monkeypatch.setenv('STAD_EVIL_MARKER', str(marker))
    ckpt = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': {'x': _Evil()}}, ckpt)
    with pytest.raises(pickle.UnpicklingError, match='Weights only load failed'):
        _load_checkpoint(str(ckpt), map_location='cpu')
    assert not marker.exists(), 'the pickled code ran'


class _Reduce:
    """Pickles as ``fn(*args)``: builds a payload from allow-listed callables only."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def _getattr_payload(marker, start):
    """``eval("os.system('touch marker')")`` reached from ``start`` (an allow-listed
    object) through ``builtins.getattr`` and torch's own allow-listed
    ``_rebuild_from_type_v2(func, new_type, args, state)``, which calls ``func(*args)``
    with any ``func`` and keeps the result if its type is ``new_type``."""
    import _codecs
    import shlex

    from torch._tensor import _rebuild_from_type_v2 as rebuild
    builtins_dict = _Reduce(getattr, start, '__builtins__')  # a Python function's
    get = _Reduce(getattr, builtins_dict, 'get')
    builtin_type = _Reduce(getattr, _codecs.encode, '__class__')  # type(eval)
    evil_eval = _Reduce(rebuild, get, builtin_type, ('eval',), None)
    int_type = _Reduce(getattr, 0, '__class__')  # os.system returns an int
    rebuild_call = _Reduce(rebuild, evil_eval, int_type,
                           (f"__import__('os').system({'touch ' + shlex.quote(str(marker))!r})",),
                           None)
    return rebuild_call


def _getattr_starts():
    """Python functions a payload can start from: one torch allows by default, and one
    the stand-in hands out (a HistoryBuffer statistics method)."""
    from mmengine.logging.history_buffer import HistoryBuffer
    return {'torch': torch.serialization._get_layout,
            'history_buffer': _Reduce(getattr, HistoryBuffer, 'mean')}


@pytest.mark.parametrize('start', ['torch', 'history_buffer'])
def test_crafted_getattr_checkpoint_runs_nothing(tmp_path, start):
    """A checkpoint reaching eval through getattr fails to load and runs nothing; with
    the real getattr allow-listed the same file runs os.system (so the test means it)."""
    from mmengine.runner import CheckpointLoader
    from mmengine.runner.checkpoint import _load_checkpoint
    marker = tmp_path / 'pwned'
    ckpt = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'meta': {'x': _getattr_payload(marker, _getattr_starts()[start])}},
               ckpt)
    for load in (_load_checkpoint, CheckpointLoader.load_checkpoint):
        with pytest.raises(pickle.UnpicklingError, match=r'refused getattr\('):
            load(ckpt, map_location='cpu')
        assert not marker.exists(), 'the pickled code ran'

    real_getattr = [g for g in compat.mmengine_checkpoint_globals()
                    if not isinstance(g, tuple)] + [getattr]
    torch.serialization.clear_safe_globals()
    try:  # torch's safe globals are process-global: restore stad's whatever happens
        torch.serialization.add_safe_globals(real_getattr)
        loaded = _load_checkpoint(ckpt, map_location='cpu')
    finally:
        torch.serialization.clear_safe_globals()
        compat.allow_mmengine_checkpoints()
    assert marker.exists(), 'the payload did not reach os.system: it proves nothing'
    assert loaded['meta']['x'] == 0  # os.system's exit status, and the load "succeeded"
    # and stad's stand-in is back in place
    assert (compat.history_buffer_getattr, 'builtins.getattr') in \
        torch.serialization.get_safe_globals()


def test_allow_list_is_exactly_what_mmengine_writes(tmp_path):
    """Every allow-listed global is needed by a real mmengine checkpoint, and nothing more."""
    ckpt = _train_toy_runner(tmp_path / 'w', max_epochs=1)
    torch.serialization.clear_safe_globals()  # see what torch alone would refuse
    try:
        needed = set(torch.serialization.get_unsafe_globals_in_checkpoint(ckpt))
    finally:
        compat.allow_mmengine_checkpoints()
    names = {g[1] if isinstance(g, tuple) else f'{g.__module__}.{g.__qualname__}'
             for g in compat.mmengine_checkpoint_globals()}
    names |= {n.replace('builtins.', '__builtin__.') for n in names}
    assert needed, 'mmengine checkpoints need no allow-list any more: drop the fix'
    assert needed <= names, f'not allow-listed: {needed - names}'


# --- a Runner trains an epoch, stops, resumes and goes on -------------------------------

def _toy_model_cls():
    from mmengine.model import BaseModel

    class ToyModel(BaseModel):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(2, 1)

        def forward(self, inputs, targets, mode='loss'):
            pred = self.lin(inputs)
            if mode == 'loss':
                return dict(loss=((pred.squeeze(-1) - targets) ** 2).mean())
            return pred

    return ToyModel


def _toy_data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, 2, generator=g)
    y = x @ torch.tensor([1.5, -2.0]) + 0.5
    return [dict(inputs=x[i], targets=y[i]) for i in range(len(x))]


def _train_toy_runner(work_dir, max_epochs, resume=False):
    from mmengine.runner import Runner
    runner = Runner(
        model=_toy_model_cls()(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=_toy_data(), sampler=dict(type='DefaultSampler', shuffle=True),
                              batch_size=8, collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1),
                           logger=dict(type='LoggerHook', interval=1)),
        # a name of its own: mmengine keeps one MessageHub per name for the whole process
        resume=resume, randomness=dict(seed=0), experiment_name=f'toy-{uuid.uuid4().hex}',
        default_scope='mmengine')
    runner.train()
    return os.path.join(str(work_dir), f'epoch_{max_epochs}.pth')


def test_runner_resumes_with_weights_only_load(tmp_path):
    assert torch.__version__ >= '2.6'  # weights_only=True is the default we keep
    first = _train_toy_runner(tmp_path, max_epochs=1)
    assert os.path.exists(first)
    resumed = _train_toy_runner(tmp_path, max_epochs=2, resume=True)
    ck = torch.load(resumed, map_location='cpu')  # weights_only=True (default)
    assert ck['meta']['epoch'] == 2
    assert ck['meta']['iter'] == 8  # 4 iterations per epoch, two epochs: it went on, not restarted
    hub = ck['message_hub']['log_scalars']['train/loss']
    assert len(hub.data[0]) == 8  # the loss history of epoch 1 came back with the resume
