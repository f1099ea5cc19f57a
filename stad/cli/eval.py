"""``stad eval --gt GT.pkl --dets DETS.pkl``: MultiSports frame-mAP and video-mAP."""
from __future__ import annotations

MODES = {'all': 'all_frames', 'annotated': 'annotated_frames'}


def register(sub) -> None:
    p = sub.add_parser(
        'eval', help='frame-mAP and video-mAP of detections (MultiSports protocol)',
        description='Evaluate per-frame detections against a MultiSports ground truth: '
                    'frame-mAP@0.5, video-mAP@0.2/0.5 and @0.1:0.9 (tubes linked from the '
                    'detections). Detections formats: see stad.evaluation.detections.')
    p.add_argument('--gt', required=True, help='MultiSports ground-truth pickle')
    p.add_argument('--dets', required=True, help='detections pickle')
    p.add_argument('--mode', choices=sorted(MODES), default='all',
                   help='all: every detection counts (official protocol, default); '
                        'annotated: ignore detections on frames without ground truth '
                        '(as mmaction2)')
    p.add_argument('--out-dir', help='write results.json and pr_*.png here')
    p.add_argument('--no-exclude', action='store_true',
                   help='keep the six classes the official protocol excludes')
    p.add_argument('--min-tube-len', type=int, default=15,
                   help='drop linked tubes shorter than this many frames (default 15)')
    p.set_defaults(func=_run)


def _run(args) -> int:
    from ..evaluation import evaluate_files
    _, table = evaluate_files(args.gt, args.dets, mode=MODES[args.mode], out_dir=args.out_dir,
                              exclude=None if args.no_exclude else 'auto',
                              min_tube_len=args.min_tube_len)
    print(table)
    if args.out_dir:
        print(f'\nwrote {args.out_dir}/results.json and PR curves')
    return 0
