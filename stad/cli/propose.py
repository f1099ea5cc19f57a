"""``stad propose CONFIG CHECKPOINT --root ROOT``: person proposals straight from videos."""
from __future__ import annotations

import os


def register(sub) -> None:
    p = sub.add_parser(
        'propose', help='run a trained person detector over the videos -> proposal pickles',
        description='Decode every video of ROOT (MultiSports layout) in a stream, run the '
                    'detector in batches and write annotations/multisports_proposals_'
                    '<split>.pkl ({img_key: float32 (N, 5) normalised x1 y1 x2 y2 score}). '
                    'Resumable: per-video results are cached in the work dir. With ground '
                    'truth, prints the proposal report (recall at IoU 0.5 / 0.7).')
    p.add_argument('config', help='mmdet config of the detector')
    p.add_argument('checkpoint', help='its trained weights (.pth)')
    p.add_argument('--root', required=True, help='dataset root (MultiSports layout)')
    p.add_argument('--work-dir', help='per-video cache and report '
                                      '(default: work_dirs/propose/<root name>)')
    p.add_argument('--out-dir', help='where the pickles go (default: ROOT/annotations)')
    p.add_argument('--split', nargs='+', help='splits to run (default: all)')
    p.add_argument('--score-thr', type=float, default=0.3, help='keep boxes >= this score')
    p.add_argument('--max-per-frame', type=int, default=10, help='at most this many boxes')
    p.add_argument('--stride', type=int, default=1,
                   help='run on frames 1, 1+S, 1+2S, ... (default 1: every frame)')
    p.add_argument('--batch-size', type=int, default=8, help='frames per forward pass')
    p.add_argument('--device', default='cpu')
    p.set_defaults(func=_run)


def _run(args) -> int:
    from ..apis.detect import ProposalOptions, propose
    from ..data.proposals_report import format_report
    options = ProposalOptions(score_thr=args.score_thr, max_per_frame=args.max_per_frame,
                              stride=args.stride, batch_size=args.batch_size)
    work_dir = args.work_dir or os.path.join(
        'work_dirs', 'propose', os.path.basename(os.path.normpath(args.root)))
    res = propose(args.config, args.checkpoint, args.root, work_dir=work_dir, options=options,
                  splits=args.split, device=args.device, out_dir=args.out_dir)
    print(f'videos: {res.videos_run} run, {res.videos_cached} from cache ({work_dir})')
    for split, path in res.files.items():
        print(f'{split}: {path}')
    if res.report is not None:
        print(format_report(res.report))
        print(f'report: {res.report_file}')
    return 0
