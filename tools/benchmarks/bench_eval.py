"""Time stad.MultiSportsMAP against mmaction2's MultiSportsMetric on the same predictions.

    python tools/benchmarks/bench_eval.py [--videos 20] [--frames 300] [--seed 0]

Both metrics get the same ``process()``ed AVA-head outputs (synthetic ground truth with
the 66 MultiSports labels, noisy detections, false positives on every frame) and run
``compute_metrics``; frame-mAP must agree. mmaction2's video path crashes under numpy 2
(docs/stack.md bug 4); the numpy-2 fix is monkeypatched in for this run only and said so.
"""
import argparse
import os
import pickle
import sys
import tempfile
import time

import stad  # noqa: F401  (compat fixes before any mmaction import)
from stad.evaluation import MultiSportsMAP, synthetic_dets, synthetic_gt
from stad.evaluation.functional import MULTISPORTS_EXCLUDED, frame_ap
from stad.evaluation.synthetic import as_mmaction_results
from stad.evaluation.upstream import fixed_iou3dt_voc
from stad.io.detections import detections_from_mmaction


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--videos', type=int, default=20)
    p.add_argument('--frames', type=int, default=300)
    p.add_argument('--seed', type=int, default=0)
    a = p.parse_args(argv)
    gt = synthetic_gt(n_videos=a.videos, n_frames=a.frames, n_labels=66, tubes_per_video=8,
                      seed=a.seed)
    gt['labels'] = [f'class {i}' for i in range(60)] + list(MULTISPORTS_EXCLUDED)
    dets = synthetic_dets(gt, seed=a.seed + 1, p_keep=0.97, p_right_label=0.9, noise=3.0,
                          fp_per_frame=1.0)
    results = as_mmaction_results(gt, dets, seed=a.seed)
    print(f'{a.videos} videos x {a.frames} frames, {len(results)} frames with predictions, '
          f'{len(dets)} boxes, 66 labels')
    from mmaction.evaluation.functional import multisports_utils as msu
    from mmaction.evaluation.metrics.multisports_metric import MultiSportsMetric
    msu.iou3dt_voc = fixed_iou3dt_voc
    msu.track = lambda it, description=None: it
    print('NOTE: mmaction2 patched for this run only: multisports_utils.iou3dt_voc numpy-2 '
          'fix (int(np.where(..)[0]) -> [0][0]); its tube-score bug (bug 5) is left as is.')
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'gt.pkl')
        with open(path, 'wb') as f:
            pickle.dump(gt, f)
        ours, theirs = MultiSportsMAP(ann_file=path, verbose=False), \
            MultiSportsMetric(ann_file=path, verbose=False)
        t0 = time.perf_counter()
        r_ours = ours.compute_metrics([list(r) for r in results])
        t1 = time.perf_counter()
        r_theirs = theirs.compute_metrics([[v, f, b.copy(), s] for v, f, b, s in results])
        t2 = time.perf_counter()
    print(f'{"seconds":16}{"stad":>10}{"mmaction2":>12}')
    print(f'{"compute_metrics":16}{t1 - t0:10.2f}{t2 - t1:12.2f}   mmaction2 / stad = '
          f'{(t2 - t1) / (t1 - t0):.1f}x')
    rows = [('frameAP@0.5', 'frameAP'), ('v_map@0.2', 'v_map@0.2'), ('v_map@0.5', 'v_map@0.5'),
            ('v_map@0.1:0.9', 'v_map_0.10:0.90')]
    for k_ours, k_theirs in rows:
        print(f'{k_ours:16}{100 * r_ours[k_ours]:10.4f}{r_theirs[k_theirs]:12.4f}')
    dets_px = detections_from_mmaction(results, gt)  # the same canonical boxes for both
    t0 = time.perf_counter()
    f_ours = frame_ap(gt, dets_px, 0.5)[0.5].mean_ap
    t1 = time.perf_counter()
    f_theirs = msu.frameAP(gt, dets_px, 0.5, print_info=False)
    t2 = time.perf_counter()
    print(f'{"frame-mAP only":16}{t1 - t0:10.3f}{t2 - t1:12.3f}   mmaction2 / stad = '
          f'{(t2 - t1) / (t1 - t0):.0f}x  (frameAP@0.5 {100 * f_ours:.6f} vs {f_theirs:.6f})')
    agree = (abs(100 * f_ours - f_theirs) < 1e-6
             and abs(100 * r_ours['frameAP@0.5'] - r_theirs['frameAP']) < 1e-3)
    print('frame-mAP agrees' if agree else 'frame-mAP DISAGREES',
          '(mmaction2 rounds to 4 decimals); video-mAP differs by design: mmaction2 scores '
          'every box with the last detection (bug 5); it also computes 28 video thresholds '
          'to our 9.')
    return 0 if agree else 1


if __name__ == '__main__':
    sys.exit(main())
