"""``stad import cvat SRC --out ROOT``: CVAT for video 1.1 XML + videos -> a dataset root."""
from __future__ import annotations

from stad.cli import sub_parser


def register(sub) -> None:
    """Add the ``cvat`` sub-command to ``stad import``'s sub-parsers ``sub``."""
    p = sub_parser(
        sub, 'cvat', help='CVAT for video 1.1 XML (tracks of boxes) + videos',
        description='Import CVAT for video 1.1 annotations (a task, job or project export, '
                    'or a folder of them, e.g. what `stad synth --format cvat` or `stad '
                    'export cvat` writes) with their videos into the MultiSports layout stad '
                    'trains on. Each track of boxes is a person; the action of a box is its '
                    'attribute named by --action-attribute, else the track\'s label; a run of '
                    'consecutive frames with one action is a tube, ended by outside="1". '
                    'CVAT frames are 0-based, stad\'s 1-based (frame + 1). Sparse tracks '
                    '(keyframes only) are filled by linear interpolation, as CVAT does. A '
                    'task\'s video is found under --videos by the task name, <source> or '
                    'the XML\'s name; the tasks\' CVAT subsets Validation/val/test make the '
                    'val split when present. Details: stad.data.formats.cvat.')
    p.add_argument('src', metavar='SRC', help='a CVAT XML file, or a folder searched for *.xml')
    p.add_argument('--out', required=True, metavar='ROOT', help='dataset root to write')
    p.add_argument('--videos', default=None, metavar='DIR',
                   help="folder searched (recursively) for the tasks' videos (default: SRC's "
                        'folder, or SRC)')
    p.add_argument('--action-attribute', default='action', metavar='NAME',
                   help='per-box attribute that holds the action (none / empty: no action)')
    p.add_argument('--person-label', default=None, metavar='LABEL',
                   help='read only tracks of this label (default: every track of boxes)')
    p.add_argument('--val', action='append', default=None, metavar='VIDEO',
                   help='a video id of the val split (repeat; default: the CVAT subsets, '
                        'else --val-fraction)')
    p.add_argument('--val-fraction', type=float, default=0.25,
                   help='share of videos in the val split when neither --val nor the CVAT '
                        'subsets give one')
    p.add_argument('--overwrite', action='store_true', help='replace an existing ROOT')
    p.set_defaults(func=_run)


def _run(args) -> int:
    from stad.cli.import_ import print_summary
    from stad.data.formats.cvat import import_cvat
    summary = import_cvat(args.src, args.out, videos_dir=args.videos,
                          action_attribute=args.action_attribute,
                          person_label=args.person_label, val_fraction=args.val_fraction,
                          val=args.val, overwrite=args.overwrite)
    return print_summary(summary)
