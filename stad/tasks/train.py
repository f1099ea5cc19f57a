"""Training entry point shared by ``stad train``, ``tools/train.py`` and ``stad run``."""
from __future__ import annotations

import os
from typing import Sequence

from stad.errors import StadError


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


def dataset_labels_fps(data_root: str) -> tuple[list[str], float]:
    """A dataset root's class names (its ground truth's ``labels``) and its videos' frame
    rate (the median over the videos' headers)."""
    import statistics

    from stad.data.formats.common import probe_video
    from stad.data.gt import load_gt
    from stad.io.layout import DataLayout
    lay = DataLayout(data_root)
    gt = load_gt(lay.gt_file)
    fps = [probe_video(lay.video_path(v)).fps for v in sorted(gt['nframes'])]
    return list(gt['labels']), float(statistics.median(fps)) if fps else 25.0


def clip_window(seconds: float, fps: float, clip_len: int) -> tuple[int, str]:
    """Create ML's prediction window as mmaction2's clip sampling: the ``frame_interval``
    with which ``clip_len`` frames span ``seconds`` at ``fps`` (the span of a clip is
    ``(clip_len - 1) * frame_interval + 1`` frames), and the arithmetic as a sentence."""
    if not (seconds > 0 and fps > 0):
        raise StadError(f'the window needs seconds > 0 and fps > 0, got {seconds} s at {fps} fps')
    want = seconds * fps
    interval = max(1, round((want - 1) / max(clip_len - 1, 1)))
    span = (clip_len - 1) * interval + 1
    return interval, (f'window {seconds:g} s x {fps:g} fps = {want:g} frames -> clip_len '
                      f'{clip_len} x frame_interval {interval}: a clip spans {span} frames '
                      f'({span / fps:.2f} s)')


def window_overrides(cfg, seconds: float, fps: float, config: str = '<config>'
                     ) -> tuple[dict, str]:
    """``SampleAVAFrames(frame_interval=...)`` of every pipeline of ``cfg`` set so that
    the clip covers ``seconds`` at ``fps`` (:func:`clip_window`): ``({key: value},
    arithmetic)``. ``clip_len`` (the model's input length) stays."""
    out, clip_len = {}, None
    for dl in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        pipe = ((cfg.get(dl) or {}).get('dataset') or {}).get('pipeline') or []
        for i, t in enumerate(pipe):
            if t.get('type') == 'SampleAVAFrames':
                clip_len = int(t['clip_len'])
                out[f'{dl}.dataset.pipeline.{i}.frame_interval'] = None
    if clip_len is None:
        raise StadError(f'{config}: no SampleAVAFrames in its pipelines: cannot set the '
                        'prediction window')
    interval, text = clip_window(seconds, fps, clip_len)
    return {k: interval for k in out}, text


def load_config(config: str, *, work_dir: str | None = None,
                cfg_options: Sequence[str] | dict = (), iters: int | None = None,
                labels: Sequence[str] | None = None, window_seconds: float | None = None,
                fps: float | None = None, say=print):
    """Read an mmengine config file; ``work_dir`` defaults to ``work_dirs/<config name>``.

    ``labels`` sets an action config's classes (:func:`label_set_overrides`);
    ``window_seconds`` at ``fps`` its clip sampling (:func:`window_overrides`, the
    arithmetic goes to ``say``). Both are applied before ``cfg_options``.

    ``cfg_options`` are merged as ``mim train --cfg-options`` merges them (nothing else
    changes: ``train_cfg.max_iters=N`` there leaves the LR schedule as it is, as in
    ``mim train``). ``iters`` sets ``train_cfg.max_iters`` **and** stretches the
    iteration-based LR schedule to the new length (:func:`rescale_schedule`).
    """
    from stad.io.config import label_set_overrides, read_config
    if iters is not None and iters < 1:
        raise StadError(f'--iters must be >= 1, got {iters}')
    cfg = read_config(config)
    opts = cfg_options if isinstance(cfg_options, dict) else parse_cfg_options(cfg_options)
    old_iters = cfg.get('train_cfg', {}).get('max_iters')
    if labels is not None:
        cfg.merge_from_dict(label_set_overrides(cfg, labels, config))
    if window_seconds is not None:
        if fps is None:
            raise StadError('--window-seconds needs the videos\' frame rate (--fps)')
        ov, text = window_overrides(cfg, window_seconds, fps, config)
        cfg.merge_from_dict(ov)
        say(f'prediction window: {text}')
    if opts:
        cfg.merge_from_dict(opts)
    if iters:
        if not old_iters:
            raise StadError(f'{config}: --iters needs an iteration-based train_cfg '
                            '(train_cfg.max_iters); this config trains by epochs')
        cfg.merge_from_dict({'train_cfg.max_iters': iters})
        if iters != old_iters:
            rescale_schedule(cfg, old_iters, iters)
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
          cfg_options: Sequence[str] | dict = (), iters: int | None = None,
          validate: bool = True, launcher: str = 'none', quiet: bool = False,
          labels: Sequence[str] | None = None, window_seconds: float | None = None,
          fps: float | None = None):
    """Train the model of an mmdet or mmaction2 config; returns the mmengine Runner.

    Args:
        config: mmdet or mmaction2 config file.
        work_dir: checkpoints and logs (default ``work_dirs/<config name>``).
        resume: continue from the latest checkpoint in ``work_dir`` (a killed run goes
            on where it stopped); with no checkpoint there it starts from scratch.
        cfg_options: config overrides, ``{'a.b': value}`` or ``['a.b=value']``.
        iters: train this many iterations, the LR schedule stretched to them.
        validate: ``False`` skips the validation during training (``--no-val``).
        launcher: ``'none'`` or ``'pytorch'`` (CPU process group, see below).
        quiet: the terminal shows one progress line and warnings; mmengine's full log
            stays in the work dir.
        labels: the action model's classes (an imported dataset's label set).
        window_seconds, fps: the clip covers this many seconds at the videos' frame rate
            (Create ML's prediction window; the arithmetic is printed).
    """
    from mmengine.runner import Runner
    cfg = load_config(config, work_dir=work_dir, cfg_options=cfg_options, iters=iters,
                      labels=labels, window_seconds=window_seconds, fps=fps)
    if not validate:
        for key in ('val_dataloader', 'val_cfg', 'val_evaluator'):
            cfg[key] = None
    cfg.launcher = launcher
    if launcher == 'pytorch':
        _init_cpu_process_group(cfg)
    if resume:
        cfg.resume = True
        cfg.load_from = None
    if not quiet:
        runner = Runner.from_cfg(cfg)
        runner.train()
        return runner
    from stad.tasks.logs import quiet_construction, quiet_runner, stdout_to_log
    with quiet_construction():
        runner = Runner.from_cfg(cfg)
    quiet_runner(runner, f'train {os.path.basename(os.path.normpath(cfg.work_dir))}')
    with stdout_to_log(runner):
        runner.train()
    return runner


def last_checkpoint(work_dir: str) -> str:
    """The checkpoint mmengine recorded last in ``work_dir`` (``last_checkpoint`` file)."""
    marker = os.path.join(work_dir, 'last_checkpoint')
    if not os.path.isfile(marker):
        raise StadError(f'no checkpoint in {work_dir} (missing {marker})')
    with open(marker) as f:
        path = f.read().strip()
    if not os.path.isfile(path):
        raise StadError(f'{marker} names a missing checkpoint: {path}')
    return path


def read_scalars(work_dir: str) -> list[dict]:
    """Every logged line of mmengine's ``vis_data/scalars.json`` files in ``work_dir``,
    oldest run first (a resumed run appends a new timestamped folder)."""
    import json
    rows = []
    if not os.path.isdir(work_dir):
        return rows
    for run in sorted(os.listdir(work_dir)):
        path = os.path.join(work_dir, run, 'vis_data', 'scalars.json')
        if os.path.isfile(path):
            with open(path) as f:
                rows += [json.loads(line) for line in f if line.strip()]
    return rows


def last_value(rows: list[dict], key: str):
    """The last logged value of ``key`` in :func:`read_scalars` rows (``None`` if none)."""
    for row in reversed(rows):
        if key in row:
            return row[key]
    return None


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
