"""``stad proposal-report --data-root ROOT``: recall of existing proposal pickles."""
from __future__ import annotations

import os

from stad.cli import add_data_root, sub_parser


def register(sub) -> None:
    p = sub_parser(sub, 'proposal-report', help='recall (IoU 0.5 / 0.7) and proposals per frame of pickles',
        description='Score proposal pickles against ROOT\'s ground truth: recall of the '
                    'ground-truth person boxes at IoU 0.5 and 0.7 per split, and the mean '
                    'number of proposals per frame. Prints a table and writes JSON.')
    add_data_root(p)
    p.add_argument('--proposals', nargs='+', metavar='SPLIT=PKL',
                   help='pickles to score (default: ROOT/annotations/'
                        'multisports_proposals_{train,val}.pkl that exist)')
    p.add_argument('--stride', type=int, default=1,
                   help='the pickles were made with `stad propose --stride N`: only frames '
                        '1, 1 + N, ... count (default 1)')
    p.add_argument('--out', help='JSON report (default: next to the first pickle)')
    p.set_defaults(func=_run)


def _run(args) -> int:
    from stad.errors import StadError
    from stad.evaluation.proposals import format_report
    from stad.io.layout import SPLITS, DataLayout
    from stad.tasks.propose import REPORT_FILE, report_for_files
    if args.proposals:
        files = {}
        for item in args.proposals:
            if '=' not in item:
                raise StadError(f'--proposals: expected SPLIT=PKL, got {item!r}')
            split, path = item.split('=', 1)
            files[split] = path
    else:
        layout = DataLayout(args.data_root)
        files = {s: layout.proposals(s) for s in SPLITS if os.path.isfile(layout.proposals(s))}
        if not files:
            raise StadError(f'no proposal pickles under {layout.ann_dir}; run `stad propose`')
    out = args.out or os.path.join(os.path.dirname(next(iter(files.values()))), REPORT_FILE)
    print(format_report(report_for_files(args.data_root, files, out=out, stride=args.stride)))
    print(f'report: {out}')
    return 0
