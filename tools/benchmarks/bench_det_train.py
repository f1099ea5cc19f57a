"""A training step of the synthetic person detector at its input size vs at the frames'
own size (320x240, what it trained at before), side by side in one run.

    python tools/benchmarks/bench_det_train.py [--config CFG] [--reps 5] [--batches 4]

Both variants build the model from the config (same seed), take the same real training
images through their own pipeline (the only difference is the Resize scale) and time
``model.train_step`` (forward, backward, AdamW) on the same batches; repetitions are
interleaved and medians reported. Needs the synthetic dataset's frames and COCO files
(``make run`` writes them).
"""
import argparse
import copy
import itertools
import os
import sys

from _timing import interleaved_medians

import stad  # noqa: F401  (compat fixes before any mmdet import)
from stad.tasks.run import SYNTH_DET_CONFIG


def _variant(cfg, scale):
    cfg = copy.deepcopy(cfg)
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'] == 'Resize':
            t['scale'] = scale
    return cfg


def _setup(cfg, n_batches):
    import torch
    from mmdet.registry import DATASETS, MODELS
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import build_optim_wrapper
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    bs = cfg.train_dataloader.batch_size
    step = max(1, len(ds) // (n_batches * bs))
    batches = [pseudo_collate([ds[(b * bs + i) * step] for i in range(bs)])
               for b in range(n_batches)]
    return model, optim, batches


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--config', default=SYNTH_DET_CONFIG)
    ap.add_argument('--reps', type=int, default=5)
    ap.add_argument('--batches', type=int, default=4)
    args = ap.parse_args(argv)
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    cfg = Config.fromfile(args.config)
    resize = next(t for t in cfg.train_dataloader.dataset.pipeline if t['type'] == 'Resize')
    if not os.path.isdir(os.path.join(cfg.train_dataloader.dataset.data_root, 'rawframes')):
        sys.exit(f'{args.config}: no frames under {cfg.train_dataloader.dataset.data_root}'
                 f'rawframes (run `make run` or `stad run` first)')
    variants = {f'config, input {tuple(resize["scale"])}': cfg,
                'frames\' own size, input (320, 240)': _variant(cfg, (320, 240))}
    steps = {}
    for name, c in variants.items():
        model, optim, batches = _setup(c, args.batches)
        model.train_step(batches[0], optim)  # warm-up
        batch_cycle = itertools.cycle(batches)
        steps[name] = lambda m=model, o=optim, it=batch_cycle: m.train_step(next(it), o)

    def progress(rep, last):
        print(f'rep {rep + 1}/{args.reps}: '
              + ', '.join(f'{n} {t:.3f} s' for n, t in last.items()), flush=True)

    # one repetition: every variant takes each of the same batches once
    med = interleaved_medians(steps, args.reps, inner=args.batches, on_rep=progress)
    base = next(iter(med.values()))
    bs = cfg.train_dataloader.batch_size
    print(f'\ndetector training step, batch {bs}, {args.batches} real batches, '
          f'median of {args.reps}:')
    for n, m in med.items():
        print(f'  {n:38s} {m:.3f} s  ({m / base:.2f}x)')


if __name__ == '__main__':
    main()
