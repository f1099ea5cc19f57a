"""Frame-mAP and video-mAP of a detections file with each class score smoothed along its
person track over w frames (stad.evaluation.functional.smooth_track_scores), both
linkers; w = 0 is the file as it is. What docs/experiments.md's smoothing entry measured.

    python tools/benchmarks/bench_track_smooth.py work_dirs/run/eval/detections.pkl \\
        --gt data/synthetic/trainval/multisports_GT.pkl --windows 0 3 5 9 15 25
"""
import argparse
import sys

from stad.data.gt import load_gt
from stad.evaluation.functional.multisports import evaluate_multisports
from stad.evaluation.functional.track_tubes import smooth_track_scores
from stad.io.detections import read_detections


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('detections')
    p.add_argument('--gt', default='data/synthetic/trainval/multisports_GT.pkl')
    p.add_argument('--windows', nargs='+', type=int, default=[0, 3, 5, 9, 15, 25])
    a = p.parse_args(argv)
    gt = load_gt(a.gt)
    dets, ids = read_detections(a.detections, gt)
    if ids is None:
        print(f'{a.detections}: no track ids (stad predict on proposals with tracks)',
              file=sys.stderr)
        return 1
    print(f'{"w":>3}{"f@0.5":>8}{"tracks v@0.2":>14}{"@0.5":>7}{"@.1:.9":>8}{"moc v@0.2":>11}'
          f'{"@0.5":>7}{"@.1:.9":>8}')
    for w in a.windows:
        d = smooth_track_scores(dets, ids, w)
        t = evaluate_multisports(gt, d, linker='tracks', track_ids=ids).summary()
        m = evaluate_multisports(gt, d, linker='moc').summary()
        print(f'{w:3d}{t["frameAP@0.5"]:8.3f}{t["v_map@0.2"]:14.3f}{t["v_map@0.5"]:7.3f}'
              f'{t["v_map@0.1:0.9"]:8.3f}{m["v_map@0.2"]:11.3f}{m["v_map@0.5"]:7.3f}'
              f'{m["v_map@0.1:0.9"]:8.3f}', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
