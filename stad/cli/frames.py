"""``stad extract-frames --data-root ROOT``: videos -> rawframes JPEGs (parallel, resumable)."""
from __future__ import annotations

from stad.cli import add_data_root, sub_parser


def register(sub) -> None:
    p = sub_parser(sub, 'extract-frames', help='extract JPEG frames of every video',
                       description='Decode ROOT/trainval/<sport>/<video>.mp4 into '
                                   'ROOT/rawframes/<sport>/<video>/00001.jpg. Videos already '
                                   'complete are skipped; interrupted ones are redone.')
    add_data_root(p)
    p.add_argument('--frames', choices=['all', 'annotated'], default='all',
                   help="'annotated': only frames with ground-truth boxes (detector training)")
    p.add_argument('--workers', type=int, default=2, help='decoding processes')
    p.add_argument('--videos', nargs='+', metavar='SPORT/VIDEO', help='default: all')
    p.set_defaults(func=_run)


def _run(args) -> int:
    from stad.data.frames import extract_frames
    from stad.io.layout import DataLayout
    done = extract_frames(DataLayout(args.data_root), videos=args.videos, frames=args.frames,
                          workers=args.workers)
    print(f'{sum(done.values())} frames written, '
          f'{sum(1 for n in done.values() if n == 0)} of {len(done)} videos already complete')
    return 0
