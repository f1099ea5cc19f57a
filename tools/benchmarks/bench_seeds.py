"""Spread of the action model over training seeds, scored with both video-mAP linkers.

After a `stad run` (its data, detector and proposals with tracks), trains the action model
again with each seed through `stad run`'s own stage functions (`stage_action_train`,
`stage_eval`, in `<work-dir-prefix><seed>`) and prints frame-mAP and video-mAP with the
tubes from person tracks and from the MOC linker, per seed and their mean:

    python tools/benchmarks/bench_seeds.py --seeds 1 2
"""
import argparse
import json
import sys

import numpy as np


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--data-root', default='data/synthetic')
    p.add_argument('--work-dir-prefix', default='work_dirs/seed')
    a = p.parse_args(argv)
    from stad.data.gt import load_gt
    from stad.evaluation.functional.multisports import evaluate_multisports
    from stad.io.detections import load_detections
    from stad.tasks.run import RunOptions, stage_action_train, stage_eval
    gt = load_gt(RunOptions(data_root=a.data_root).layout.gt_file)
    rows = []
    for seed in a.seeds:
        o = RunOptions(data_root=a.data_root, seed=seed, demo=False,
                       work_dir=f'{a.work_dir_prefix}{seed}')
        stage_action_train(o)
        tracks = stage_eval(o)['summary']
        dets = load_detections(f'{o.dir("eval")}/detections.pkl', gt)
        moc = evaluate_multisports(gt, dets, mode='all_frames', linker='moc').summary()
        rows.append((seed, tracks, moc))
        print(json.dumps(dict(seed=seed, tracks=tracks, moc=moc)), flush=True)
    keys = ('v_map@0.2', 'v_map@0.5', 'v_map@0.1:0.9')
    print(f'{"seed":>6} {"frame-mAP":>10}  tracks v@0.2/0.5/0.1:0.9   moc v@0.2/0.5/0.1:0.9')
    for seed, t, m in rows + [('mean', *[{k: np.mean([r[i][k] for r in rows]) for k in rows[0][i]}
                                         for i in (1, 2)])]:
        print(f'{seed:>6} {t["frameAP@0.5"]:10.3f}  '
              + ' / '.join(f'{t[k]:.3f}' for k in keys) + '   '
              + ' / '.join(f'{m[k]:.3f}' for k in keys))
    return 0


if __name__ == '__main__':
    sys.exit(main())
