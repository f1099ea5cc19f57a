"""``stad check GT.pkl [--videos DIR]``: validate MultiSports ground truth (and videos)."""
from __future__ import annotations

from stad.cli import sub_parser


def register(sub) -> None:
    p = sub_parser(sub, 'check', help='validate a MultiSports ground truth pickle',
                       description='Print every schema error and warning of a ground truth '
                                   'pickle (loaded with a restricted unpickler); with '
                                   '--videos also check the videos exist and match its '
                                   'resolution and frame counts (counting the frames that '
                                   'decode, so a truncated video is caught). Exit status 1 '
                                   'on errors.')
    p.add_argument('gt', metavar='GT.pkl', help='MultiSports ground-truth pickle')
    p.add_argument('--videos', metavar='DIR',
                   help="folder holding '<sport>/<video>.mp4' (e.g. ROOT/trainval)")
    p.add_argument('--header-only', action='store_true',
                   help="with --videos: trust each video's header frame count instead of "
                        'counting the frames that decode (faster, misses truncated files)')
    p.set_defaults(func=_run)


def _run(args) -> int:
    import os

    from stad.data.gt import check_gt, check_videos, read_gt_pickle
    gt = read_gt_pickle(args.gt)
    report = check_gt(gt, os.path.basename(args.gt))
    if args.videos and report.ok:
        report.issues.extend(check_videos(gt, args.videos, os.path.basename(args.gt),
                                          count_frames=not args.header_only))
    for issue in report.issues:
        print(issue)
    print(report.summary())
    return 0 if report.ok else 1
