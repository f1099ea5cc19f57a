"""`stad synth --format X` -> `stad import X` against the native synthetic ground truth, for
the formats with boxes (CVAT, AVA): videos, tubes, and whether labels, splits, frame
counts, tube frames and boxes (to 0.5 px) are equal. Also times both steps.

    python tools/benchmarks/bench_formats_roundtrip.py --videos 72 --val-videos 8
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np

from stad.data.formats.ava import import_ava
from stad.data.formats.cvat import import_cvat
from stad.data.formats.synth_formats import synth_format
from stad.data.gt import load_gt
from stad.data.synth import synth
from stad.io.layout import DataLayout

IMPORTERS = {'cvat': import_cvat, 'ava': import_ava}


def compare(a: dict, b: dict) -> tuple[bool, float]:
    """(equal labels, splits, sizes and tube frames; largest box difference in px)."""
    same = (a['labels'] == b['labels'] and a['nframes'] == b['nframes']
            and a['resolution'] == b['resolution']
            and sorted(a['test_videos'][0]) == sorted(b['test_videos'][0])
            and set(a['gttubes']) == set(b['gttubes']))
    worst = 0.0
    for v, tubes in a['gttubes'].items():
        other = b['gttubes'].get(v, {})
        same &= set(tubes) == set(other)
        for k, ts in tubes.items():
            mine = sorted(ts, key=lambda t: (t[0, 0], t[0, 1]))
            theirs = sorted(other.get(k, []), key=lambda t: (t[0, 0], t[0, 1]))
            same &= len(mine) == len(theirs)
            for t, o in zip(mine, theirs):
                same &= np.array_equal(t[:, 0], o[:, 0])
                if t.shape == o.shape:
                    worst = max(worst, float(np.abs(t[:, 1:] - o[:, 1:]).max()))
    return same and worst <= 0.5, worst


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--videos', type=int, default=72)
    p.add_argument('--val-videos', type=int, default=8)
    a = p.parse_args(argv)
    work = tempfile.mkdtemp(prefix='bench_formats.')
    try:
        kw = dict(seed=a.seed, videos=a.videos, val_videos=a.val_videos)
        native = load_gt(synth(os.path.join(work, 'native'), progress=False, **kw).gt_file)
        n_tubes = sum(len(t) for v in native['gttubes'].values() for t in v.values())
        print(f'native: {len(native["nframes"])} videos, {n_tubes} tubes')
        print(f'{"format":<8}{"videos":>7}{"tubes":>7}{"equal":>7}{"max px":>8}{"write s":>9}'
              f'{"import s":>9}')
        for fmt, imp in IMPORTERS.items():
            src, root = os.path.join(work, fmt), os.path.join(work, f'{fmt}_root')
            t0 = time.time()
            synth_format(src, fmt, progress=False, **kw)
            t1 = time.time()
            s = imp(src, root)
            t2 = time.time()
            same, worst = compare(native, load_gt(DataLayout(root).gt_file))
            print(f'{fmt:<8}{s.videos:7d}{s.tubes:7d}{str(same):>7}{worst:8.4f}{t1 - t0:9.1f}'
                  f'{t2 - t1:9.1f}', flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
