"""How often Create ML auto-labelling (stad import createml) takes the true actor, on the
synthetic generator's Create ML sources, whose truth.json says who acts in each range.

    python tools/benchmarks/bench_autolabel.py --det-checkpoint work_dirs/run/det/iter_600.pth

For each format (createml-folders: one clip per tube, cut to its actor; createml-csv: the
full videos and one annotation row per tube), it writes the source (seed, videos), imports
it with the person detector and tracker, and compares each range's tube with the true
actor's boxes (stad.tasks.autolabel.check_against_truth: right = mean IoU >= 0.5).
Prints per format: ranges, right, accuracy, mean IoU, frame coverage, import seconds.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

from stad.data.formats.synth_formats import synth_format
from stad.errors import StadError
from stad.tasks.autolabel import check_against_truth, import_createml
from stad.tasks.run import SYNTH_DET_CONFIG


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('--det-config', default=SYNTH_DET_CONFIG)
    p.add_argument('--det-checkpoint', required=True)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--videos', type=int, default=8)
    p.add_argument('--tracker', default='bytetrack')
    p.add_argument('--formats', nargs='+', default=['createml-folders', 'createml-csv'])
    p.add_argument('--keep', help='keep the sources and imports in this folder')
    a = p.parse_args(argv)
    work = a.keep or tempfile.mkdtemp(prefix='bench_autolabel.')
    try:
        print(f'{"format":<18}{"ranges":>7}{"right":>7}{"acc":>7}{"IoU":>7}{"cover":>7}'
              f'{"s":>7}')
        for fmt in a.formats:
            src, root = os.path.join(work, fmt), os.path.join(work, f'{fmt}_imported')
            synth_format(src, fmt, overwrite=True, progress=False, seed=a.seed,
                         videos=a.videos)
            t0 = time.time()
            import_createml(src, root, det_config=a.det_config, det_checkpoint=a.det_checkpoint,
                            tracker=a.tracker, overwrite=True, progress=False)
            sec = time.time() - t0
            m = check_against_truth(root, os.path.join(src, 'truth.json'))
            print(f'{fmt:<18}{m["entries"]:7d}{m["right"]:7d}{m["accuracy"]:7.3f}'
                  f'{m["mean_iou"]:7.3f}{m["frame_coverage"]:7.3f}{sec:7.0f}', flush=True)
    except StadError as e:
        print(f'bench_autolabel: error: {e}', file=sys.stderr)
        return 1
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
