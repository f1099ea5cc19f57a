"""``stad eval``: score a detections file against a ground truth (frame-mAP, video-mAP)."""
from __future__ import annotations

import os

from stad.data.gt import load_gt
from stad.evaluation.functional.multisports import evaluate_multisports
from stad.evaluation.report import format_table, save_json, save_pr_curves
from stad.io.detections import read_detections

# Tubes for video-mAP: from the person tracks ('tracks', when the detections carry track
# ids) or linked per class from per-frame detections ('moc', the MOC-detector linker);
# measured on the synthetic val split (docs/evaluation.md), 'tracks' scores far higher.
LINKERS = ('auto', 'tracks', 'moc')


def evaluate_and_write(gt: dict, dets, *, mode: str = 'all_frames', out_dir: str | None = None,
                       exclude='auto', min_tube_len: int | None = None,
                       linker: str = 'auto', track_ids=None):
    """Score ``(N, 8)`` detections; with ``out_dir`` write ``results.json``, ``pr_*.png``
    and ``table.txt`` there. Returns ``(MultiSportsResult, table text)``.

    ``linker``: ``'tracks'`` (needs ``track_ids``, one per row), ``'moc'``, or
    ``'auto'``: tracks when ``track_ids`` are given, else moc. ``min_tube_len``: ``None``
    takes the linker's own default.
    """
    from stad.errors import StadError
    from stad.io.atomic import atomic_write_text
    if linker not in LINKERS:
        raise StadError(f'linker must be one of {", ".join(LINKERS)}, got {linker!r}')
    if linker == 'auto':
        linker = 'tracks' if track_ids is not None else 'moc'
    if linker == 'tracks' and track_ids is None:
        raise StadError('linker tracks needs the person track of every detection: '
                        'detections written by stad predict from proposals with tracks '
                        '(stad propose writes them)')
    result = evaluate_multisports(gt, dets, mode=mode, exclude=exclude,
                                  min_tube_len=min_tube_len, linker=linker,
                                  track_ids=track_ids if linker == 'tracks' else None)
    table = format_table(result)
    if out_dir:
        save_json(result, os.path.join(out_dir, 'results.json'))
        save_pr_curves(result, out_dir)
        atomic_write_text(os.path.join(out_dir, 'table.txt'), table + '\n')
    return result, table


def evaluate_files(gt_path: str, dets_path: str, *, mode: str = 'all_frames',
                   out_dir: str | None = None, exclude='auto',
                   min_tube_len: int | None = None, per_class: bool = False,
                   linker: str = 'auto'):
    """Evaluate a detections pickle against a ground-truth pickle (what ``stad eval`` runs).

    Args:
        linker: see :func:`evaluate_and_write`; ``'auto'`` uses the file's track ids
            (``stad predict`` writes them) when it has them.
        per_class: for mmaction2 result dumps only: one detection per box and class
            (what ``stad predict`` writes) instead of one per box with its best class
            (mmaction2's ``MultiSportsMetric``). Without it a line on stderr says which
            was used, since the two score differently.

    Writes ``results.json``, ``pr_*.png`` and ``table.txt`` into ``out_dir`` if given.
    Returns ``(MultiSportsResult, table text)``.
    """
    import sys
    gt = load_gt(gt_path)
    dets, ids = read_detections(dets_path, gt, per_class=per_class,
                           on_mmaction=lambda: print(
                               f'stad eval: {dets_path} holds mmaction2 results: scoring '
                               + ('one detection per box and class (--per-class)' if per_class
                                  else 'one detection per box, its best class, as '
                                       "mmaction2's MultiSportsMetric does; --per-class "
                                       'scores every class, as stad predict writes'),
                               file=sys.stderr))
    return evaluate_and_write(gt, dets, mode=mode, out_dir=out_dir, exclude=exclude,
                              min_tube_len=min_tube_len, linker=linker,
                              track_ids=ids if linker != 'moc' else None)
