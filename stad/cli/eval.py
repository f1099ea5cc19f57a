"""``stad eval --gt GT.pkl --dets DETS.pkl``: MultiSports frame-mAP and video-mAP."""
from __future__ import annotations

from stad.cli import sub_parser


def register(sub) -> None:
    p = sub_parser(
        sub, 'eval', help='frame-mAP and video-mAP of detections (MultiSports protocol)',
        description='Evaluate per-frame detections against a MultiSports ground truth: '
                    'frame-mAP@0.5, video-mAP@0.2/0.5 and @0.1:0.9 (tubes linked from the '
                    'detections). Detections: `stad predict` writes them; other formats '
                    '(mim test --dump among them): see stad.io.detections.')
    p.add_argument('--gt', required=True, help='MultiSports ground-truth pickle')
    p.add_argument('--dets', required=True, help='detections pickle')
    p.add_argument('--mode', default='all_frames',
                   choices=['all_frames', 'annotated_frames', 'all', 'annotated'],
                   help='all_frames: every detection counts (official protocol); '
                        'annotated_frames: ignore detections on frames without ground '
                        'truth (as mmaction2). all / annotated: old spellings')
    p.add_argument('--per-class', action='store_true',
                   help='mmaction2 dumps (mim test --dump): one detection per box and '
                        'class instead of the best class only (what stad predict writes)')
    p.add_argument('--out-dir', help='write results.json and pr_*.png here')
    p.add_argument('--no-exclude', action='store_true',
                   help='keep the six classes the official protocol excludes')
    p.add_argument('--linker', default='auto', choices=['auto', 'tracks', 'moc'],
                   help="video-mAP tubes: 'tracks' from the person tracks stad predict "
                        "writes (smoothed per-track action scores cut into segments), "
                        "'moc' linked per class from per-frame detections; 'auto': tracks "
                        'when the file has track ids')
    p.add_argument('--min-tube-len', type=int,
                   help="drop tubes shorter than this many frames (default: the linker's, "
                        '15 for moc, 8 for tracks)')
    p.set_defaults(func=_run)


def _run(args) -> int:
    from stad.evaluation.functional.multisports import check_mode
    from stad.tasks.evaluate import evaluate_files
    _, table = evaluate_files(args.gt, args.dets, mode=check_mode(args.mode),
                              out_dir=args.out_dir,
                              exclude=None if args.no_exclude else 'auto',
                              min_tube_len=args.min_tube_len, per_class=args.per_class,
                              linker=args.linker)
    print(table)
    if args.out_dir:
        print(f'\nwrote {args.out_dir}/results.json and PR curves')
    return 0
