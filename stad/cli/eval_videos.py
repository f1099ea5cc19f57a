"""``stad eval-videos --data-root ROOT --detections FILE``: video-level accuracy of the
dominant person's label (Create ML's Evaluation tab, TAO's ``evaluate``)."""
from __future__ import annotations

from stad.cli import add_data_root, sub_parser


def register(sub) -> None:
    p = sub_parser(
        sub, 'eval-videos',
        help='video-level accuracy, per-class precision/recall, confusion matrix',
        description='Evaluate a classifier-style test set (Create ML labelled folders or '
                    'annotation file, TAO): each ground-truth tube of the split is one '
                    'labelled range; its predicted label is that of the dominant person '
                    'track (largest, most present) in the detections. Prints accuracy per '
                    'range and per video and per-class precision/recall, in mode center '
                    '(scores on the central frame of the range) and conv (scores averaged '
                    'over the range). A range with no tracked person counts as wrong.')
    add_data_root(p)
    p.add_argument('--detections', required=True,
                   help='detections file with track ids (what stad predict writes)')
    p.add_argument('--split', default='val', choices=['val', 'train'],
                   help='the split whose tubes are the labelled ranges')
    p.add_argument('--mode', default='both', choices=['both', 'center', 'conv'],
                   help='center: scores on the central frame of each range; conv: scores '
                        'averaged over the range; both: report both')
    p.add_argument('--out', metavar='DIR',
                   help='write results.json, table.txt and confusion_<mode>.png here')
    p.set_defaults(func=_run)


def _run(args) -> int:
    from stad.tasks.evaluate_videos import evaluate_videos
    _, table = evaluate_videos(args.data_root, args.detections, split=args.split,
                               mode=args.mode, out_dir=args.out)
    print(table)
    if args.out:
        print(f'\nwrote {args.out}/results.json, table.txt and confusion_*.png')
    return 0
