"""The run report: ``metrics.json``, ``report.md`` and its plots, and the final table."""
from __future__ import annotations

import json
import os

from stad.io.atomic import atomic_write_text, savefig_atomic
from stad.tasks.train import read_scalars


def _res(records: dict, stage: str) -> dict:
    return records.get(stage, {}).get('results', {}) or {}


def collect_metrics(records: dict) -> dict:
    """The headline figures of a run, from its stage records (fractions, not percent)."""
    ev = _res(records, 'eval').get('summary', {})
    rep = _res(records, 'propose').get('report') or {}
    val = rep.get('val', {})
    return {
        'detector_bbox_AP50': _res(records, 'det_train').get('bbox_AP50'),
        'proposal_recall@0.5': val.get('recall@0.5'),
        'proposal_recall@0.7': val.get('recall@0.7'),
        'proposals_per_frame': val.get('mean_proposals_per_frame'),
        'frame_mAP@0.5': ev.get('frameAP@0.5'),
        'video_mAP@0.2': ev.get('v_map@0.2'),
        'video_mAP@0.5': ev.get('v_map@0.5'),
        'video_mAP@0.1:0.9': ev.get('v_map@0.1:0.9'),
        'eval_mode': _res(records, 'eval').get('mode'),
        'video_mAP_tubes': _res(records, 'eval').get('linker'),
        'tracker': (records.get('propose', {}).get('params') or {}).get('tracker'),
        # Create ML sources only: the dominant person's label per labelled range / video
        **{k: v for k, v in (_res(records, 'eval').get('video_level') or {}).items()},
    }


def _fmt(v) -> str:
    if v is None:
        return '-'
    if isinstance(v, float):
        return f'{v:.3f}'
    return str(v)


def format_run_table(metrics: dict, records: dict) -> str:
    """The final table of `stad run`: the headline metrics, then every stage's time."""
    rows = [(k, _fmt(v)) for k, v in metrics.items()]
    rows += [(f'time {name} (s)', f'{r["seconds"]:.0f}' + (' (earlier run)' if r.get('skipped') else ''))
             for name, r in records.items()]
    total = sum(r['seconds'] for r in records.values())
    rows.append(('time total (s)', f'{total:.0f}'))
    w = max(len(k) for k, _ in rows)
    lines = [f'{"metric":<{w}}  value', '-' * (w + 12)]
    lines += [f'{k:<{w}}  {v}' for k, v in rows]
    return '\n'.join(lines)


def _plot_curves(work_dir: str, out: str) -> bool:
    """Training loss of both models and the validation metrics against iterations."""
    import matplotlib
    matplotlib.use('Agg', force=False)
    import matplotlib.pyplot as plt
    series = []
    for name, sub, keys in (('detector', 'det', ('loss',)), ('action', 'action', ('loss',))):
        rows = read_scalars(os.path.join(work_dir, sub))
        for k in keys:
            pts = [(r['step'], r[k]) for r in rows if k in r and 'step' in r]
            if pts:
                series.append((f'{name} {k}', pts))
    if not series:
        return False
    fig, axes = plt.subplots(1, len(series), figsize=(5 * len(series), 3.5), dpi=100)
    axes = axes if len(series) > 1 else [axes]
    for ax, (title, pts) in zip(axes, series):
        x, y = zip(*pts)
        ax.plot(x, y, lw=1)
        ax.set(title=title, xlabel='iteration', yscale='log')
    fig.tight_layout()
    savefig_atomic(fig, out)
    plt.close(fig)
    return True


def _plot_per_class(per_class: dict, out: str) -> bool:
    if not per_class:
        return False
    import matplotlib
    matplotlib.use('Agg', force=False)
    import matplotlib.pyplot as plt
    names = list(per_class)
    fig, ax = plt.subplots(figsize=(max(4, 0.6 * len(names) + 2), 3.5), dpi=100)
    ax.bar(range(len(names)), [100 * (per_class[n] or 0) for n in names])
    ax.set_xticks(range(len(names)), names, rotation=30, ha='right')
    ax.set(ylabel='frame AP@0.5 (%)', ylim=(0, 100))
    fig.tight_layout()
    savefig_atomic(fig, out)
    plt.close(fig)
    return True


def write_report(work_dir: str, records: dict, *, options: dict, wall_seconds: float) -> dict:
    """Write ``metrics.json`` and ``report.md`` (+ PNGs) into ``work_dir``; print the table."""
    metrics = collect_metrics(records)
    table = format_run_table(metrics, records)
    doc = dict(metrics=metrics,
               stage_seconds={k: r['seconds'] for k, r in records.items()},
               wall_seconds_this_invocation=round(wall_seconds, 1), options=options)
    atomic_write_text(os.path.join(work_dir, 'metrics.json'), json.dumps(doc, indent=2) + '\n')

    md = ['# stad run report', '', '```', table, '```', '']
    if _plot_curves(work_dir, os.path.join(work_dir, 'training_curves.png')):
        md += ['## Training curves', '', '![training curves](training_curves.png)', '']
    per_class = _res(records, 'eval').get('per_class', {})
    if _plot_per_class(per_class, os.path.join(work_dir, 'per_class_ap.png')):
        md += ['## Per-class frame AP@0.5', '', '![per-class AP](per_class_ap.png)', '']
    eval_dir = os.path.join(work_dir, 'eval')
    if os.path.isdir(eval_dir):
        pngs = sorted(p for p in os.listdir(eval_dir) if p.startswith('pr_') and p.endswith('.png'))
        if pngs:
            md += ['## Precision/recall curves', '']
            md += [f'![{p}](eval/{p})' for p in pngs] + ['']
        table_txt = os.path.join(eval_dir, 'table.txt')
        if os.path.isfile(table_txt):
            with open(table_txt) as f:
                md += ['## Per-class AP (percent)', '', '```', f.read().rstrip(), '```', '']
    demo = _res(records, 'demo')
    if demo.get('still') and os.path.isfile(demo['still']):
        md += ['## Demo', '', f'`{demo["out"]}` (video {demo["video"]})', '',
               f'![demo still]({os.path.relpath(demo["still"], work_dir)})', '']
    atomic_write_text(os.path.join(work_dir, 'report.md'), '\n'.join(md))
    print()
    print(table)
    print(f'\nwrote {os.path.join(work_dir, "metrics.json")} and '
          f'{os.path.join(work_dir, "report.md")}')
    return metrics
