"""Helpers of the action model tests: GT-jittered proposals and a tiny CPU config.

Proposals here are made from the ground truth (boxes jittered, plus a few false boxes)
so the action tests need no trained detector.
"""
from __future__ import annotations

import os
import pickle

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CPU_CONFIG = os.path.join(
    ROOT, 'configs', 'action', 'slowonly_scratch-r18-c16_1xb8-4x4x1-2400i_synthetic-rgb.py')


def jittered_proposals(gt: dict, videos, *, jitter: float = 0.05, false_boxes: int = 1,
                       seed: int = 0) -> dict:
    """``{img_key: float32 (N, 5)}`` normalised proposals from ground-truth boxes.

    Every ground-truth box of every frame, each side moved by up to ``jitter`` of the
    box size, score in [0.8, 1]; plus ``false_boxes`` random boxes per frame scoring
    [0, 0.6] (below the configs' ``person_det_score_thr`` of 0.5 only sometimes).
    """
    from stad.io.layout import img_key
    rng = np.random.default_rng(seed)
    per_frame: dict = {}
    for video in videos:
        h, w = gt['resolution'][video]
        for tubes in gt['gttubes'].get(video, {}).values():
            for tube in tubes:
                for row in np.asarray(tube):
                    per_frame.setdefault((video, int(row[0])), []).append(row[1:5])
    out = {}
    for (video, frame), boxes in sorted(per_frame.items()):
        h, w = gt['resolution'][video]
        boxes = np.array(boxes, dtype=np.float64)
        size = np.concatenate([boxes[:, 2:] - boxes[:, :2]] * 2, axis=1)
        boxes = boxes + rng.uniform(-jitter, jitter, boxes.shape) * size
        scores = rng.uniform(0.8, 1.0, (len(boxes), 1))
        fx1 = rng.uniform(0, 0.7, (false_boxes, 1)) * w
        fy1 = rng.uniform(0, 0.5, (false_boxes, 1)) * h
        false = np.hstack([fx1, fy1, fx1 + 0.2 * w, fy1 + 0.4 * h])
        allb = np.vstack([boxes, false]) / np.array([w, h, w, h])
        allb = np.clip(allb, 0, 1)
        sc = np.vstack([scores, rng.uniform(0, 0.6, (false_boxes, 1))])
        out[img_key(video, frame)] = np.hstack([allb, sc]).astype(np.float32)
    return out


def write_jittered_proposals(data_root: str, out_dir: str, **kwargs) -> dict:
    """Write ``multisports_proposals_{train,val}.pkl`` for ``data_root`` into ``out_dir``."""
    from stad.data.gt import load_gt, split_videos
    from stad.io.layout import DataLayout
    gt = load_gt(DataLayout(data_root).gt_file)
    paths = {}
    for split, videos in split_videos(gt).items():
        path = os.path.join(out_dir, f'multisports_proposals_{split}.pkl')
        os.makedirs(out_dir, exist_ok=True)
        with open(path, 'wb') as f:
            pickle.dump(jittered_proposals(gt, videos, **kwargs), f)
        paths[split] = path
    return paths


def tiny_cfg_options(data_root: str, proposals: dict) -> dict:
    """Point the CPU config at ``data_root`` and make it tiny (2 clips a batch, 4 iters)."""
    from stad.io.layout import DataLayout
    lay = DataLayout(data_root)
    opts = {}
    for split, loader in (('train', 'train_dataloader'), ('val', 'val_dataloader'),
                          ('val', 'test_dataloader')):
        opts.update({
            f'{loader}.dataset.ann_file': lay.csv(split),
            f'{loader}.dataset.proposal_file': proposals[split],
            f'{loader}.dataset.data_prefix.img': lay.video_dir,
            f'{loader}.num_workers': 0,
            f'{loader}.persistent_workers': False,
        })
    opts.update({
        'train_dataloader.batch_size': 2,
        'train_cfg.max_iters': 4,
        'train_cfg.val_interval': 1000,  # no val inside these short runs (the loop
        'train_cfg.val_begin': 1000,  # also validates after its last iteration)
        'default_hooks.checkpoint.interval': 2,
        'default_hooks.logger.interval': 1,
        'val_evaluator.ann_file': lay.gt_file,
        'test_evaluator.ann_file': lay.gt_file,
    })
    return opts
