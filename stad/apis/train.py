"""Training entry point shared by ``stad train``, ``tools/train.py`` and ``stad run``."""
from __future__ import annotations

import os
from typing import Sequence

from ..errors import StadError


def parse_cfg_options(options: Sequence[str]) -> dict:
    """``['a.b=1', 'c=x']`` -> ``{'a.b': 1, 'c': 'x'}`` (values parsed like mmengine's DictAction)."""
    from mmengine.config import DictAction
    out = {}
    for opt in options:
        if '=' not in opt:
            raise StadError(f'--cfg-options: expected KEY=VALUE, got {opt!r}')
        key, val = opt.split('=', 1)
        out[key] = DictAction._parse_iterable(val)
    return out


def load_config(config: str, *, work_dir: str | None = None,
                cfg_options: Sequence[str] | dict = ()):
    """Read an mmengine config file; ``work_dir`` defaults to ``work_dirs/<config name>``."""
    from mmengine.config import Config
    if not os.path.isfile(config):
        raise StadError(f'config file not found: {config}')
    cfg = Config.fromfile(config)
    opts = cfg_options if isinstance(cfg_options, dict) else parse_cfg_options(cfg_options)
    old_iters = cfg.get('train_cfg', {}).get('max_iters')
    if opts:
        cfg.merge_from_dict(opts)
    new_iters = cfg.get('train_cfg', {}).get('max_iters')
    if old_iters and new_iters and new_iters != old_iters \
            and not any(k.startswith('param_scheduler') for k in opts):
        rescale_schedule(cfg, old_iters, new_iters)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = os.path.join('work_dirs', os.path.splitext(os.path.basename(config))[0])
    return cfg


def rescale_schedule(cfg, old_iters: int, new_iters: int) -> None:
    """Stretch the iteration-based LR schedule of ``cfg`` from ``old_iters`` to
    ``new_iters`` (``begin``, ``end``, ``T_max``, ``milestones``; values beyond
    ``old_iters``, such as an open ``end``, stay), so that a shortened run still warms up
    and decays its learning rate over its own length."""
    ratio = new_iters / old_iters
    schedulers = cfg.get('param_scheduler') or []
    for sched in schedulers if isinstance(schedulers, list) else [schedulers]:
        if sched.get('by_epoch', True):
            continue
        for key in ('begin', 'end', 'T_max'):
            if isinstance(sched.get(key), int) and 0 < sched[key] <= old_iters:
                sched[key] = max(1, round(sched[key] * ratio))
        if sched.get('milestones'):
            sched['milestones'] = [max(1, round(m * ratio)) for m in sched['milestones']]


def train(config: str, *, work_dir: str | None = None, resume: bool = False,
          cfg_options: Sequence[str] | dict = (), launcher: str = 'none'):
    """Train the model of an mmdet or mmaction2 config; returns the mmengine Runner.

    ``resume=True`` continues from the latest checkpoint in ``work_dir`` (a killed run
    goes on where it stopped); with no checkpoint there it starts from scratch.
    """
    from mmengine.runner import Runner
    cfg = load_config(config, work_dir=work_dir, cfg_options=cfg_options)
    cfg.launcher = launcher
    if launcher == 'pytorch':
        _init_cpu_process_group(cfg)
    if resume:
        cfg.resume = True
        cfg.load_from = None
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def _init_cpu_process_group(cfg) -> None:
    """Join the process group of a CPU-only ``--launcher pytorch`` run ourselves.

    mmengine 0.10.7's ``init_dist`` calls ``torch.cuda.set_device`` unconditionally
    ("Found no NVIDIA driver"); the Runner skips it when a group already exists. CPU
    configs also need ``model_wrapper_cfg=dict(type='MMDistributedDataParallel', device_ids=None)``
    (mmengine's default wrapper passes ``device_ids=[LOCAL_RANK]``, which DDP refuses
    for CPU modules).
    """
    import torch
    import torch.distributed as dist
    if torch.cuda.is_available() or not dist.is_available() or dist.is_initialized():
        return
    backend = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('backend', 'gloo')
    if backend != 'gloo':
        raise StadError(f'{cfg.filename}: env_cfg.dist_cfg.backend={backend!r} needs GPUs; '
                        "on CPU use --cfg-options env_cfg.dist_cfg.backend=gloo")
    dist.init_process_group(backend='gloo')
