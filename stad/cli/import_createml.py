"""``stad import createml SRC --out ROOT``: Create ML action classifier data (labelled
folders or one annotation file) -> a dataset root, the people found by a detector and a
tracker (:mod:`stad.tasks.autolabel`)."""
from __future__ import annotations

from stad.cli import add_models, sub_parser


def register(sub) -> None:
    """Add the ``createml`` sub-command to ``stad import``'s sub-parsers ``sub``."""
    from stad.apis.tracking import TRACKERS
    from stad.tasks.autolabel import MAX_GAP
    p = sub_parser(
        sub, 'createml', help='Create ML action classifier data: <label>/<video> folders or '
                              'one CSV/JSON of video,label,start,end (boxes found by stad)',
        description='Import Create ML action classifier data: labelled folders '
                    '(SRC/<label>/<video>.mp4|mov|avi|m4v|mkv, one action per video) or one '
                    'annotation file (CSV or JSON array with keys video, label and optional '
                    'start, end as seconds, MM:SS(.ff) or HH:MM:SS(.ff)); a SRC holding '
                    'train/ and val/ (or test/) sources keeps that split. Create ML data has '
                    'no boxes: stad runs the person detector over each labelled range, links '
                    'the boxes into tracks and takes the dominant person, Create ML\'s '
                    '"largest, most present person", scored as the track\'s box area over '
                    'the image area averaged over every frame of the range (absent frames '
                    'count 0). Prints per range the chosen track, its coverage and the '
                    'runner-up; writes ROOT/contact_sheets/<video id>.png to check them.')
    p.add_argument('src', metavar='SRC',
                   help='a folder of labelled folders, an annotation file (.csv/.json), a '
                        'folder holding one with its videos, or a folder of train/ and val/ '
                        'such sources (as `stad synth --format createml-folders|createml-csv` '
                        'writes)')
    p.add_argument('--out', required=True, metavar='ROOT', help='dataset root to write')
    add_models(p, det=True)
    p.add_argument('--tracker', choices=TRACKERS, default='bytetrack',
                   help='how person boxes are linked over time')
    p.add_argument('--score-thr', type=float, default=0.5,
                   help='detector score a box needs to start a person track')
    p.add_argument('--max-gap', type=int, default=MAX_GAP, metavar='FRAMES',
                   help="longest gap of the chosen person's track filled by interpolation; "
                        'a longer one splits the tube')
    p.add_argument('--negative-class', default=None, metavar='LABEL',
                   help="Create ML's negative class (irrelevant actions): trained like any "
                        'other label, left out of the mean AP')
    p.add_argument('--val-fraction', type=float, default=0.25,
                   help='share of videos in the val split when SRC has no val/ source')
    p.add_argument('--overwrite', action='store_true', help='replace an existing ROOT')
    p.add_argument('--no-contact-sheets', action='store_true',
                   help='do not write ROOT/contact_sheets/')
    p.set_defaults(func=_run)


def _run(args) -> int:
    from stad.cli.import_ import print_summary
    from stad.tasks.autolabel import import_createml
    summary = import_createml(args.src, args.out, det_config=args.det_config,
                              det_checkpoint=args.det_checkpoint, tracker=args.tracker,
                              negative_class=args.negative_class, score_thr=args.score_thr,
                              val_fraction=args.val_fraction, overwrite=args.overwrite,
                              contact_sheets=not args.no_contact_sheets, max_gap=args.max_gap)
    return print_summary(summary)
