"""Where a training step of the CPU SlowOnly config goes: model and clip loading, stad's
choices vs upstream's, side by side in one run.

    python tools/benchmarks/bench_action_train.py [--config CFG] [--reps 5] [--samples 64]

1. Model step (forward + backward + AdamW on a random batch shaped like the config's:
   batch size, clip length, short side, 4 boxes a clip, through the model's data
   preprocessor): the config as is; the same with mmaction2's ``ActionDataPreprocessor``
   (default memory format instead of channels-last); and upstream's ResNet3dSlowOnly
   layout on top of that (``inflate=(0, 0, 1, 1)``, two blocks in every stage). Interleaved
   repetitions, medians.
2. Clip loading (one process, the training pipeline per sample, same samples):
   ``DecordInit``/``DecordDecode`` (upstream) vs ``stad.CachedDecordInit``/``Decode``
   (frames decoded once into a cache; its first pass, which writes the cache, is shown
   separately). Needs the synthetic dataset with proposals (``make run`` writes it).
"""
import argparse
import copy
import os
import random
import sys
import tempfile
import time

from _timing import interleaved_medians

import stad  # noqa: F401  (compat fixes before any mmaction import)
from stad.tasks.run import SYNTH_ACTION_CONFIG


def model_steps(cfg, reps: int) -> dict:
    import torch
    from mmaction.registry import MODELS
    from mmaction.structures import ActionDataSample
    from mmengine.registry import init_default_scope
    from mmengine.structures import InstanceData
    init_default_scope('mmaction')
    batch = cfg.train_dataloader.batch_size
    clip_len = next(t for t in cfg.train_pipeline if t['type'] == 'SampleAVAFrames')['clip_len']
    h = next(t for t in cfg.train_pipeline if t['type'] == 'Resize')['scale'][1]
    w = h * 4 // 3
    n_cls = cfg.model.roi_head.bbox_head.num_classes
    clips = list(torch.rand(batch, 3, clip_len, h, w) * 255)
    boxes = torch.tensor([[0.05, 0.1, 0.3, 0.9], [0.3, 0.1, 0.5, 0.9], [0.5, 0.2, 0.7, 0.9],
                          [0.7, 0.1, 0.95, 0.9]]) * torch.tensor([w, h, w, h])

    def samples():
        out = []
        for i in range(batch):
            s = ActionDataSample()
            labels = torch.zeros(len(boxes), n_cls)
            labels[torch.arange(len(boxes)), torch.arange(len(boxes)) % n_cls] = 1
            s.gt_instances = InstanceData(bboxes=boxes.clone(), labels=labels)
            s.proposals = InstanceData(bboxes=boxes.clone())
            s.set_metainfo(dict(img_shape=(h, w)))
            out.append(s)
        return out

    default_pp = dict(cfg.model.data_preprocessor, type='mmaction.ActionDataPreprocessor')
    default_fmt = dict(copy.deepcopy(cfg.model), data_preprocessor=default_pp)
    upstream = copy.deepcopy(default_fmt)
    upstream['backbone'].update(inflate=(0, 0, 1, 1), stage_blocks=None)
    variants = {'stad config': cfg.model, 'default memory format': default_fmt,
                'and upstream res4/res5 layout': upstream}
    steps = {}
    for name, model_cfg in variants.items():
        torch.manual_seed(0)
        model = MODELS.build(model_cfg).train()
        opt = torch.optim.AdamW(model.parameters(), 1e-3)

        def step(model=model, opt=opt):
            opt.zero_grad()
            data = model.data_preprocessor(dict(inputs=clips, data_samples=samples()), True)
            losses = model(**data, mode='loss')
            sum(v for k, v in losses.items() if 'loss' in k).backward()
            opt.step()
        step()  # warm-up
        steps[name] = step
    out = interleaved_medians(steps, reps, inner=3)
    print(f'model step: batch {batch} x {clip_len} frames x {h}x{w}, {len(boxes)} boxes a '
          f'clip, median of {reps} x 3 steps')
    for name, t in out.items():
        print(f'  {name:32s}{t:8.3f} s/step')
    base = out['stad config']
    for name, t in list(out.items())[1:]:
        print(f'  {name} / stad config = {t / base:.2f}x')
    return out


def clip_loading(cfg, n: int) -> dict:
    from mmaction.registry import DATASETS
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    ds_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    for path in (ds_cfg.ann_file, ds_cfg.proposal_file):
        if not os.path.isfile(path):
            print(f'clip loading: skipped, {path} not found (run `make run` first)')
            return {}
    cached = [dict(t) for t in ds_cfg.pipeline]
    upstream = [dict(t, type={'stad.CachedDecordInit': 'DecordInit',
                              'stad.CachedDecordDecode': 'DecordDecode'}.get(t['type'], t['type']))
                for t in cached]
    random.seed(0)
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        os.environ['STAD_CACHE_DIR'] = cache
        for name, pipeline in (('upstream DecordInit/Decode', upstream),
                               ('stad cached (first pass)', cached),
                               ('stad cached', cached)):
            ds = DATASETS.build(dict(ds_cfg, pipeline=pipeline))
            idx = random.Random(0).sample(range(len(ds)), min(n, len(ds)))
            t = time.perf_counter()
            for i in idx:
                ds[i]
            out[name] = (time.perf_counter() - t) / len(idx) * 1000
    print(f'clip loading: training pipeline, {len(idx)} samples, one process')
    for name, ms in out.items():
        print(f'  {name:32s}{ms:8.1f} ms/sample')
    print(f'  upstream / stad cached = {out["upstream DecordInit/Decode"] / out["stad cached"]:.1f}x')
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--config', default=SYNTH_ACTION_CONFIG)
    p.add_argument('--reps', type=int, default=5, help='interleaved repetitions of 3 steps')
    p.add_argument('--samples', type=int, default=64, help='clips to load per pipeline')
    a = p.parse_args(argv)
    from mmengine.config import Config
    cfg = Config.fromfile(a.config)
    model_steps(cfg, a.reps)
    clip_loading(cfg, a.samples)
    return 0


if __name__ == '__main__':
    sys.exit(main())
