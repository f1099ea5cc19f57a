"""``stad export cvat --data-root ROOT [--detections FILE] --out FILE_OR_DIR``: ground
truth or a model's predictions as CVAT for video 1.1 XML, to correct in CVAT."""
from __future__ import annotations

from stad.cli import add_data_root, sub_parser


def register(sub) -> None:
    p = sub_parser(sub, 'export', help='export ground truth or predictions for correction '
                                       '(CVAT for video 1.1 XML)',
                   description='Write a dataset\'s ground truth, or the predictions of a '
                               'trained model, in a labelling tool\'s format so a person '
                               'loads them as pre-annotations and corrects them.')
    fmts = p.add_subparsers(dest='format', metavar='FORMAT', required=True,
                            help='the labelling tool format to write')
    c = sub_parser(fmts, 'cvat', help='CVAT for video 1.1 XML',
                   description='One CVAT task per video, one track per person (MOT identities '
                               'of the ground truth, or the person tracks of the detections), '
                               'every box a keyframe with its action as the "action" attribute '
                               '(none: no action), outside="1" after each run. A folder --out '
                               'gets <sport>/<video>.xml per video (upload each to its CVAT '
                               'task as "CVAT 1.1"); a .xml --out one file (a project export '
                               'for several videos). `stad import cvat` reads them back. '
                               'Predictions: each track\'s action segments are cut with '
                               'video-mAP\'s tracks linker; a frame in two segments takes the '
                               'higher-scored one. Details: stad.tasks.export.')
    add_data_root(c)
    c.add_argument('--detections', default=None, metavar='FILE',
                   help='detections of `stad predict` (with person track ids); default: '
                        'export the ground truth')
    c.add_argument('--out', required=True, metavar='FILE_OR_DIR',
                   help='folder (one XML per video) or a .xml file')
    c.add_argument('--video', action='append', default=None, metavar='VIDEO',
                   help='export only this video id (repeat; default: all, or the split\'s)')
    c.add_argument('--split', default='val', choices=['val', 'train'],
                   help='with --detections: the split the detections are of')
    c.add_argument('--min-len', type=int, default=None,
                   help='with --detections: drop segments shorter than this many frames '
                        '(default: the tracks linker\'s, 8)')
    c.add_argument('--smooth', type=int, default=None,
                   help='with --detections: score smoothing window in frames (default: the '
                        'tracks linker\'s, 15)')
    c.set_defaults(func=_run)


def _run(args) -> int:
    from stad.tasks.export import export_cvat_gt, export_cvat_predictions
    if args.detections:
        opts = {k: v for k, v in (('min_len', args.min_len), ('smooth', args.smooth))
                if v is not None}
        summary = export_cvat_predictions(args.detections, args.data_root, args.out,
                                          split=args.split, videos=args.video, **opts)
    else:
        summary = export_cvat_gt(args.data_root, args.out, videos=args.video)
    for line in summary.lines:
        print(line)
    print(f'wrote {len(summary.files)} CVAT XML files'
          + (f' to {args.out}' if len(summary.files) != 1 else f': {summary.files[0]}'))
    return 0
