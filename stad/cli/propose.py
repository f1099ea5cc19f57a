"""``stad propose --det-config D --det-checkpoint D.pth --data-root ROOT``: person
proposals straight from videos."""
from __future__ import annotations

import argparse
import os
import sys

from stad.apis.tracking import TRACKERS
from stad.cli import add_data_root, add_models, sub_parser
from stad.cli._backend import add_backend_options, resolve_backend


def register(sub) -> None:
    p = sub_parser(
        sub, 'propose', help='run a trained person detector over the videos -> proposal pickles',
        description='Decode every video of ROOT (MultiSports layout) in a stream, run the '
                    'detector in batches and write annotations/multisports_proposals_'
                    '<split>.pkl ({img_key: float32 (N, 5) normalised x1 y1 x2 y2 score}). '
                    'Resumable: per-video results are cached in the work dir. With ground '
                    'truth, prints the proposal report (recall at IoU 0.5 / 0.7) and adds '
                    'it to WORK_DIR/proposal_report.json. The train split is run on every '
                    '--train-stride-th frame (what training needs, as `stad run` does), the '
                    'val split on every frame (what the official protocol scores).')
    p.add_argument('legacy', nargs='*', metavar='CONFIG CHECKPOINT', help=argparse.SUPPRESS)
    add_models(p, det=True, required=False)
    add_data_root(p)
    p.add_argument('--work-dir', help='per-video cache and report '
                                      '(default: work_dirs/propose/<root name>)')
    p.add_argument('--out-dir', help='where the pickles go (default: ROOT/annotations)')
    p.add_argument('--split', nargs='+', help='splits to run (default: all)')
    p.add_argument('--score-thr', type=float, default=0.3, help='keep boxes >= this score')
    p.add_argument('--max-per-frame', type=int, default=10, help='at most this many boxes')
    p.add_argument('--train-stride', type=int, default=4,
                   help='train split: run on frames 1, 1+S, 1+2S, ...')
    p.add_argument('--stride', type=int, default=1,
                   help='other splits (val; all without ground truth): frames 1, 1+S, ...')
    p.add_argument('--batch-size', type=int, default=8, help='frames per forward pass')
    p.add_argument('--workers', type=int,
                   help='runtime backends: videos run at once, each on its share of the '
                        'cores (default: one per core, at most 4; torch: 1)')
    p.add_argument('--tracker', default='bytetrack', choices=TRACKERS,
                   help="person tracker whose ids go into the tracks sidecar (mmdet's)")
    p.add_argument('--device', default='cpu', help="torch device ('cpu', 'cuda:0')")
    add_backend_options(p)
    p.set_defaults(func=_run)


def _run(args) -> int:
    from stad.apis.detect import ProposalOptions
    from stad.errors import StadError
    from stad.evaluation.proposals import format_report
    from stad.tasks.propose import propose_splits
    if args.legacy:
        if len(args.legacy) != 2 or args.det_config or args.det_checkpoint:
            raise StadError('give the detector as --det-config CONFIG --det-checkpoint PTH')
        print('stad propose: CONFIG CHECKPOINT positionals are deprecated, use '
              '--det-config and --det-checkpoint', file=sys.stderr)
        args.det_config, args.det_checkpoint = args.legacy
    if not (args.det_config and args.det_checkpoint):
        raise StadError('--det-config and --det-checkpoint are required')
    work_dir = args.work_dir or os.path.join(
        'work_dirs', 'propose', os.path.basename(os.path.normpath(args.data_root)))
    options = ProposalOptions(score_thr=args.score_thr, max_per_frame=args.max_per_frame,
                              stride=args.stride, batch_size=args.batch_size,
                              backend=resolve_backend(args), onnx_dir=args.onnx_dir,
                              precision=args.precision, workers=args.workers)
    res = propose_splits(args.det_config, args.det_checkpoint, args.data_root,
                         work_dir=work_dir, options=options, train_stride=args.train_stride,
                         splits=args.split, device=args.device, out_dir=args.out_dir,
                         tracker=args.tracker)
    print(f'videos: {res.videos_run} run, {res.videos_cached} from cache ({work_dir})')
    for split, path in res.files.items():
        print(f'{split}: {path}')
    if res.report is not None:
        print(format_report(res.report))
        print(f'report: {res.report_file}')
    return 0
