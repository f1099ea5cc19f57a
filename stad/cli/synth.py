"""``stad synth --out ROOT``: write the synthetic MultiSports-layout dataset."""
from __future__ import annotations

from stad.cli import sub_parser
from stad.data.formats.synth_formats import FORMATS
from stad.data.synth import PRESETS
from stad.errors import StadError


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split('x'))
    except ValueError:
        raise StadError(f'--size: expected WxH like 320x240, got {text!r}') from None
    return w, h


def register(sub) -> None:
    p = sub_parser(sub, 'synth', help='write the synthetic dataset (MultiSports layout)',
                       description='Render articulated people doing 4 actions (jumping jack, '
                                   'squat, wave, walk) into ROOT/trainval/<sport>/<video>.mp4 '
                                   'and ROOT/trainval/multisports_GT.pkl, with who is who as MOT '
                                   'ground truth in ROOT/trainval/mot/<sport>/<video>.txt.')
    p.add_argument('--out', required=True, metavar='ROOT', help='dataset root to write')
    p.add_argument('--seed', type=int, default=0, help='random seed (same seed, same data)')
    p.add_argument('--videos', type=int, default=16,
                   help='number of videos (stad run generates 72)')
    p.add_argument('--val-videos', type=int, default=None, help='default: videos // 4')
    p.add_argument('--size', default='320x240', metavar='WxH', help='frame size')
    p.add_argument('--frames', type=int, default=80, help='frames per video')
    p.add_argument('--fps', type=float, default=25.0, help='frame rate of the videos')
    p.add_argument('--max-people', type=int, default=None,
                   help='people per video, at most (default: 3, with --preset hard 5)')
    p.add_argument('--preset', default='default', choices=tuple(PRESETS),
                   help='default: the set `stad run` trains on; hard: where tracking '
                        'matters -- 2-5 people whose walks cross in front of and behind '
                        'each other, walking twice as fast, under a slow camera pan')
    p.add_argument('--format', default='multisports', choices=FORMATS,
                   help='write the dataset as stad\'s native MultiSports layout, or as a '
                        'source `stad import` reads: CVAT for video 1.1 XML, AVA-style CSV, '
                        'Create ML labelled folders or annotation file (same seed, same '
                        'people and actions in every format)')
    p.add_argument('--overwrite', action='store_true',
                   help='replace a non-empty --out folder (non-native formats)')
    p.set_defaults(func=_run)


def _run(args) -> int:
    from stad.data.formats.synth_formats import synth_format
    try:
        synth_format(args.out, args.format, overwrite=args.overwrite, seed=args.seed,
                     videos=args.videos, val_videos=args.val_videos, size=_size(args.size),
                     frames=args.frames, fps=args.fps, max_people=args.max_people,
                     preset=args.preset)
    except ValueError as e:
        raise StadError(str(e)) from None
    return 0
