"""``stad synth --out ROOT``: write the synthetic MultiSports-layout dataset."""
from __future__ import annotations

from stad.cli import sub_parser
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
    p.add_argument('--max-people', type=int, default=3, help='people per video, at most')
    p.set_defaults(func=_run)


def _run(args) -> int:
    from stad.data.synth import synth
    try:
        synth(args.out, seed=args.seed, videos=args.videos, val_videos=args.val_videos,
              size=_size(args.size), frames=args.frames, fps=args.fps,
              max_people=args.max_people)
    except ValueError as e:
        raise StadError(str(e)) from None
    return 0
