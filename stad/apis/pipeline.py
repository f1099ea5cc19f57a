"""``stad run``: the whole pipeline, stage by stage, resumable.

Stages (each skipped when its outputs are complete, see :mod:`stad.apis.stages`):

1. ``data``        synthetic dataset if the ground truth is absent (and the root is
                   synthetic), validation, COCO + CSV + label map, frames of annotated
                   frames for the detector;
2. ``det_train``   the person detector (resumes from its latest checkpoint);
3. ``propose``     person proposals for every video, and their recall;
4. ``action_train`` SlowOnly on the proposals (resumes);
5. ``eval``        frame-mAP and video-mAP on the val split (official all-frames protocol);
6. ``demo``        a rendered val video and a still of it;
7. ``report``      ``metrics.json`` and ``report.md`` with plots.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass

from ..data.layout import DataLayout
from ..errors import StadError
from ..io import atomic_path, atomic_write_text
from .stages import Stage, run_stages

CONFIG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'configs')
SYNTH_DET_CONFIG = 'configs/detection/faster-rcnn_r18-c32-fpn64_scratch-1xb4-600it_synthetic-person.py'
SYNTH_ACTION_CONFIG = 'configs/action/slowonly_scratch-r18-c16_1xb8-4x4x1-1200i_synthetic-rgb.py'
SYNTH_ROOT = 'data/synthetic'


@dataclass(frozen=True)
class RunOptions:
    """Knobs of :func:`run_pipeline` (``stad run --help`` documents each)."""

    data_root: str = SYNTH_ROOT
    work_dir: str = 'work_dirs/run'
    det_config: str = SYNTH_DET_CONFIG
    action_config: str = SYNTH_ACTION_CONFIG
    synth: bool | None = None  # None: generate only if data_root is the synthetic default
    seed: int = 0  # synthetic data and both trainings
    synth_videos: int = 72
    synth_val_videos: int = 8
    det_iters: int | None = None  # override the configs' training length
    action_iters: int | None = None
    propose_score_thr: float = 0.3
    propose_train_stride: int = 4
    eval_mode: str = 'all_frames'
    demo: bool = True


def _data_overrides(kind: str, root: str) -> dict:
    """Point a config's datasets at ``root`` (stad's layout) instead of its default."""
    lay = DataLayout(root)
    if kind == 'det':
        out = {}
        for dl in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            out[f'{dl}.dataset.data_root'] = root.rstrip('/') + '/'
        out['val_evaluator.ann_file'] = lay.coco('val')
        out['test_evaluator.ann_file'] = lay.coco('val')
        return out
    out = {}
    for dl, split in (('train_dataloader', 'train'), ('val_dataloader', 'val'),
                      ('test_dataloader', 'val')):
        out[f'{dl}.dataset.ann_file'] = lay.csv(split)
        out[f'{dl}.dataset.proposal_file'] = lay.proposals(split)
        out[f'{dl}.dataset.data_prefix.img'] = lay.video_dir
    out['val_evaluator.ann_file'] = lay.gt_file
    out['test_evaluator.ann_file'] = lay.gt_file
    return out


def _iters_overrides(iters: int | None) -> dict:
    if not iters:
        return {}
    # log at least a few times, so that short runs still have training curves
    return {'train_cfg.max_iters': iters, 'train_cfg.val_interval': iters,
            'default_hooks.checkpoint.interval': iters,
            'default_hooks.logger.interval': max(1, min(10, iters // 5))}


def config_overrides(kind: str, root: str, iters: int | None = None,
                     seed: int | None = None) -> dict:
    """``--cfg-options`` that point a synthetic config (``kind`` 'det' or 'action') at the
    dataset ``root``, optionally shorten training to ``iters`` iterations and seed it
    (mmengine's ``randomness.seed``: on one machine a rerun repeats the figures)."""
    seeded = {} if seed is None else {'randomness.seed': seed}
    return {**_data_overrides(kind, root), **_iters_overrides(iters), **seeded}


def cli_options(overrides: dict) -> str:
    """``config_overrides(...)`` as a ``--cfg-options`` argument string."""
    return ' '.join(f'{k}={v}' for k, v in overrides.items())


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
    for row in reversed(rows):
        if key in row:
            return row[key]
    return None


def _train_stage(config: str, work_dir: str, overrides: dict, metric_keys: dict) -> dict:
    from .train import train
    train(config, work_dir=work_dir, resume=True, cfg_options=overrides)
    rows = read_scalars(work_dir)
    out = {name: last_value(rows, key) for name, key in metric_keys.items()}
    out['checkpoint'] = last_checkpoint(work_dir)
    return out


def build_stages(o: RunOptions) -> list[Stage]:
    lay = DataLayout(o.data_root)
    w = o.work_dir
    det_dir, act_dir = os.path.join(w, 'det'), os.path.join(w, 'action')
    eval_dir, demo_dir = os.path.join(w, 'eval'), os.path.join(w, 'demo')
    synth = o.synth if o.synth is not None else (
        os.path.normpath(o.data_root) == os.path.normpath(SYNTH_ROOT))

    def data():
        from ..data.convert import convert_gt
        from ..data.frames import extract_frames
        from ..data.gt import load_gt
        if not os.path.isfile(lay.gt_file):
            if not synth:
                raise StadError(f'ground truth not found: {lay.gt_file} (pass --synth to '
                                f'generate a synthetic dataset there)')
            from ..data.synth import synth as make
            make(o.data_root, seed=o.seed, videos=o.synth_videos,
                 val_videos=min(o.synth_val_videos, max(1, o.synth_videos // 4)))
        gt = load_gt(lay.gt_file)
        convert_gt(lay)
        extract_frames(lay, frames='annotated', gt=gt)
        return dict(videos=len(gt['nframes']), labels=list(gt['labels']))

    def det_train():
        return _train_stage(o.det_config, det_dir,
                            config_overrides('det', o.data_root, o.det_iters, o.seed),
                            {'bbox_AP50': 'coco/bbox_mAP_50', 'bbox_AP': 'coco/bbox_mAP'})

    def propose():
        from .detect import ProposalOptions
        from .detect import propose as run_propose
        ckpt = last_checkpoint(det_dir)
        out = {}
        # Training the action model only learns from proposals that overlap a ground-truth
        # box at IoU >= 0.9 (its assigner; ground truth is added as proposals too), so on
        # train keyframes at a stride suffice (--propose-train-stride, default 4: a
        # keyframe without proposals still trains on its ground-truth boxes); val gets
        # every frame, because the official protocol counts detections on every frame.
        for split, stride in (('train', o.propose_train_stride), ('val', 1)):
            res = run_propose(o.det_config, ckpt, o.data_root,
                              work_dir=os.path.join(w, 'propose', split), splits=[split],
                              options=ProposalOptions(score_thr=o.propose_score_thr,
                                                      stride=stride))
            out[split] = (res.report or {}).get(split)
        return dict(report=out)

    def action_train():
        # No validation inside training: the eval stage scores the model on every frame
        # with proposals right after (the config's own val runs on annotated keyframes
        # only and would cost a minute more).
        return _train_stage(o.action_config, act_dir,
                            {**config_overrides('action', o.data_root, o.action_iters,
                                                o.seed),
                             'train_cfg.val_begin': 10**9}, {})

    def evaluate():
        from ..data.gt import load_gt
        from ..evaluation.functional.multisports import evaluate_multisports
        from ..evaluation.report import format_table, save_json, save_pr_curves
        from .action import load_action_model, predict_dataset
        am = load_action_model(o.action_config, last_checkpoint(act_dir))
        # every frame that has proposals: background frames count (official protocol)
        dets = predict_dataset(am, o.data_root, split='val', frames='proposals')
        result = evaluate_multisports(load_gt(lay.gt_file), dets, mode=o.eval_mode)
        save_json(result, os.path.join(eval_dir, 'results.json'))
        save_pr_curves(result, eval_dir)
        table = format_table(result)
        atomic_write_text(os.path.join(eval_dir, 'table.txt'), table + '\n')
        print(table)
        return dict(summary=result.summary(), mode=result.mode,
                    per_class=result.frame[0.5].ap if 0.5 in result.frame else {})

    def demo():
        import dataclasses

        import cv2
        import decord

        from ..data.gt import load_gt
        from ..visualization.demo import DemoOptions, run_demo
        gt = load_gt(lay.gt_file)
        # the val video with the most people (tubes) shows the most
        video = max(sorted(gt['test_videos'][0]),
                    key=lambda v: sum(len(t) for t in gt['gttubes'].get(v, {}).values()))
        out = os.path.join(demo_dir, 'demo.mp4')
        summary = run_demo(lay.video_path(video), out, det_config=o.det_config,
                           det_checkpoint=last_checkpoint(det_dir), config=o.action_config,
                           checkpoint=last_checkpoint(act_dir), label_map=lay.label_map,
                           options=DemoOptions(det_score_thr=0.5, action_score_thr=0.3))
        vr = decord.VideoReader(out)
        still = os.path.join(demo_dir, 'demo_still.png')
        with atomic_path(still) as tmp:
            cv2.imwrite(tmp + '.png', vr[len(vr) // 2].asnumpy()[:, :, ::-1])
            os.replace(tmp + '.png', tmp)
        return dict(video=video, still=still, **dataclasses.asdict(summary))

    stages = [
        Stage('data', data, [lay.gt_file, lay.coco('train'), lay.coco('val'),
                             lay.csv('train'), lay.csv('val'), lay.label_map]),
        Stage('det_train', det_train, [os.path.join(det_dir, 'last_checkpoint')]),
        Stage('propose', propose, [lay.proposals('train'), lay.proposals('val')]),
        Stage('action_train', action_train, [os.path.join(act_dir, 'last_checkpoint')]),
        Stage('eval', evaluate, [os.path.join(eval_dir, 'results.json')]),
    ]
    if o.demo:
        stages.append(Stage('demo', demo, [os.path.join(demo_dir, 'demo.mp4')]))
    return stages


def run_pipeline(o: RunOptions) -> dict:
    """Run every stage (skipping complete ones), then write ``metrics.json`` and
    ``report.md`` into ``o.work_dir`` and print the final table. Returns the metrics."""
    for cfg in (o.det_config, o.action_config):
        if not os.path.isfile(cfg):
            raise StadError(f'config file not found: {cfg}')
    t0 = time.time()
    records = run_stages(o.work_dir, build_stages(o))
    from .report import write_report
    metrics = write_report(o.work_dir, records, options=asdict(o),
                           wall_seconds=time.time() - t0)
    return metrics
