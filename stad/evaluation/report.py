"""Presenting a :class:`~stad.evaluation.functional.MultiSportsResult`: an aligned per-class
table, results JSON and precision/recall curves as PNG (all files written atomically)."""
from __future__ import annotations

import json
import math
import os

import numpy as np

from stad.evaluation.functional.multisports import MultiSportsResult
from stad.io.atomic import atomic_write_text, savefig_atomic

MODE_TEXT = {
    'all_frames': 'all frames (official protocol: detections on frames without ground '
                  'truth are false positives)',
    'annotated_frames': 'annotated frames only (as mmaction2: detections on frames without '
                        'any ground-truth box are ignored)',
}


def _pct(x: float) -> str:
    return '     -' if x is None or (isinstance(x, float) and math.isnan(x)) else f'{100 * x:6.2f}'


def format_table(result: MultiSportsResult) -> str:
    """Per-class AP (percent) at every frame and video threshold, then the means."""
    cols = [(f'f@{t:g}', r) for t, r in result.frame.items()]
    shown = result.shown_video_thrs or tuple(result.video)
    cols += [(f'v@{t:g}', result.video[t]) for t in shown if t in result.video]
    names = []
    for _, r in cols:
        names += [n for n in r.ap if n not in names]
    n_gt = {}
    for t, r in result.frame.items():
        n_gt.update(r.n_gt)
    width = max([len(n) for n in names] + [len('class'), len('mean (mAP)')])
    header = f'{"class":<{width}}  {"boxes":>6}  ' + '  '.join(f'{c:>6}' for c, _ in cols)
    lines = [f'mode: {MODE_TEXT.get(result.mode, result.mode)}',
             f'detections: {result.n_detections}, tubes: {result.n_tubes} '
             f'({"from person tracks" if result.linker == "tracks" else "linked per class (MOC)"})',
             f'excluded classes: {", ".join(result.excluded) or "none"}',
             '', header, '-' * len(header)]
    for n in names:
        cells = '  '.join(_pct(r.ap.get(n, float('nan'))) for _, r in cols)
        lines.append(f'{n:<{width}}  {n_gt.get(n, 0):>6}  {cells}')
    lines.append('-' * len(header))
    lines.append(f'{"mean (mAP)":<{width}}  {"":>6}  '
                 + '  '.join(_pct(r.mean_ap) for _, r in cols))
    lines.append('')
    lines += [f'{k:<16} {_pct(v).strip()}' for k, v in result.summary().items()]
    return '\n'.join(lines)


def _clean(obj):
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return None if math.isnan(obj) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def save_json(result: MultiSportsResult, path: str) -> None:
    """``result.to_dict()`` as JSON (APs are fractions; NaN -> null)."""
    atomic_write_text(path, json.dumps(_clean(result.to_dict()), indent=2) + '\n')


def save_pr_curves(result: MultiSportsResult, out_dir: str) -> list:
    """One PNG per kind and threshold, every class's precision/recall curve on it:
    ``pr_frame@0.5.png``, ``pr_video@0.2.png``, ... Returns the paths."""
    import matplotlib
    matplotlib.use('Agg', force=False)
    import matplotlib.pyplot as plt
    paths = []
    shown = result.shown_video_thrs or tuple(result.video)
    todo = [('frame', t, r) for t, r in result.frame.items()]
    todo += [('video', t, result.video[t]) for t in shown if t in result.video]
    for kind, t, r in todo:
        fig, ax = plt.subplots(figsize=(7, 5), dpi=100)
        for name in r.ap:
            ax.plot(r.recall[name], r.precision[name], lw=1,
                    label=f'{name} ({100 * r.ap[name]:.1f})')
        ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel='recall', ylabel='precision',
               title=f'{kind} AP@{t:g}: mAP {_pct(r.mean_ap).strip()} ({result.mode})')
        if 0 < len(r.ap) <= 20:
            ax.legend(fontsize=6, loc='lower left')
        fig.tight_layout()
        path = os.path.join(out_dir, f'pr_{kind}@{t:g}.png')
        savefig_atomic(fig, path)
        plt.close(fig)
        paths.append(path)
    return paths
