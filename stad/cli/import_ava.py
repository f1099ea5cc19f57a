"""``stad import ava SRC --out ROOT``: AVA-style CSV + label map + videos -> a dataset root."""
from __future__ import annotations

import textwrap

from stad.cli import sub_parser


def register(sub) -> None:
    """Add the ``ava`` sub-command to ``stad import``'s sub-parsers ``sub``."""
    from stad.data.formats.ava import KEYFRAME_MODES
    p = sub_parser(
        sub, 'ava', help='AVA-style CSV (video_id, timestamp, x1, y1, x2, y2, action_id, '
                         'person_id) + label map + videos',
        description=textwrap.fill(
                    'Import AVA-style CSV annotations (one row per box and action, '
                    'timestamps in seconds, boxes normalised to [0, 1]) with their label '
                    'map (AVA pbtxt or "id: name" lines) and videos into the MultiSports '
                    'layout stad trains on. A timestamp is the frame shown nearest to it, '
                    'at each video\'s own frame rate: frame = floor((timestamp - '
                    'timestamp_start) * fps + 0.5) + 1. With --keyframes hold (AVA: one '
                    'keyframe a second) a keyframe at t s holds its box on the frames shown '
                    'in [t - 0.5, t + 0.5) s. Rows of one person and action on consecutive '
                    'frames form a tube.', 88))
    p.add_argument('src', metavar='SRC',
                   help='a folder (CSVs, label map, videos/ as `stad synth --format ava` '
                        'writes) or a CSV file')
    p.add_argument('--out', required=True, metavar='ROOT', help='dataset root to write')
    p.add_argument('--csv', default=None,
                   help="annotation CSV (default: SRC's only CSV, or its *train* / *val* pair)")
    p.add_argument('--label-map', default=None,
                   help="AVA pbtxt or 'id: name' lines (default: SRC's *.pbtxt, else "
                        '*label*.txt)')
    p.add_argument('--videos', default=None, metavar='DIR',
                   help='folder of <video_id>.<mp4|mkv|webm|avi|mov|...> (default: '
                        'SRC/videos, else the CSV\'s folder)')
    p.add_argument('--keyframes', choices=KEYFRAME_MODES, default='exact',
                   help='exact: a row is the box on its one frame; hold: AVA\'s one keyframe '
                        'a second, its box held over [t - 0.5, t + 0.5) s')
    p.add_argument('--timestamp-start', type=float, default=0.0, metavar='SECONDS',
                   help="the CSV's time of each video's first frame (900 for AVA's own "
                        'files with 15-minute clips cut at 900 s)')
    p.add_argument('--val-csv', default=None,
                   help='CSV of the val split (default: every 1/val-fraction-th video)')
    p.add_argument('--val-fraction', type=float, default=0.25,
                   help='share of videos in the val split when there is no --val-csv')
    p.add_argument('--overwrite', action='store_true', help='replace an existing ROOT')
    p.set_defaults(func=_run)


def _run(args) -> int:
    from stad.cli.import_ import print_summary
    from stad.data.formats.ava import import_ava
    summary = import_ava(args.src, args.out, csv=args.csv, label_map=args.label_map,
                         videos_dir=args.videos, keyframes=args.keyframes,
                         val_csv=args.val_csv, val_fraction=args.val_fraction,
                         timestamp_start=args.timestamp_start, overwrite=args.overwrite)
    return print_summary(summary)
