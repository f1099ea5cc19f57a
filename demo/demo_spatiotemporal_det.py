"""mmaction2's ``demo/demo_spatiotemporal_det.py`` command line, run by ``stad demo``.

Same argument names and meanings as upstream (mmaction2 1.x), so its users can switch:
``--predict-stepsize`` -> keyframe stride, ``--output-stepsize`` -> write every n-th
frame, ``--output-fps`` -> output frame rate. Differences: checkpoints and configs have
no default (upstream's point at its model zoo); ``--short-side`` is ignored (the action
config's test pipeline sets the input size); ``--device`` defaults to ``cpu``.

    python demo/demo_spatiotemporal_det.py in.mp4 out.mp4 --config A.py --checkpoint A.pth \
        --det-config D.py --det-checkpoint D.pth --label-map labels.txt
"""
import argparse
import sys


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description='MMAction2 demo (run by stad demo)')
    p.add_argument('video', help='video file')
    p.add_argument('out_filename', help='output filename')
    p.add_argument('--config', required=True, help='spatio temporal detection config')
    p.add_argument('--checkpoint', required=True, help='its checkpoint')
    p.add_argument('--det-config', required=True, help='human detection config')
    p.add_argument('--det-checkpoint', required=True, help='its checkpoint')
    p.add_argument('--det-score-thr', type=float, default=0.9)
    p.add_argument('--det-cat-id', type=int, default=0, help='category id of person')
    p.add_argument('--action-score-thr', type=float, default=0.5)
    p.add_argument('--label-map', help='label map file')
    p.add_argument('--device', default='cpu')
    p.add_argument('--short-side', type=int, default=256, help='ignored (see docstring)')
    p.add_argument('--predict-stepsize', type=int, default=8)
    p.add_argument('--output-stepsize', type=int, default=4)
    p.add_argument('--output-fps', type=int, default=6)
    p.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE')
    return p


def main(argv=None) -> int:
    args = get_args_parser().parse_args(argv)
    from stad.cli import main as stad_main
    cmd = ['demo', args.video, args.out_filename, '--config', args.config,
           '--checkpoint', args.checkpoint, '--det-config', args.det_config,
           '--det-checkpoint', args.det_checkpoint, '--det-score-thr', str(args.det_score_thr),
           '--det-cat-id', str(args.det_cat_id), '--action-score-thr',
           str(args.action_score_thr), '--keyframe-stride', str(args.predict_stepsize),
           '--output-stride', str(args.output_stepsize), '--out-fps', str(args.output_fps),
           '--device', args.device]
    if args.label_map:
        cmd += ['--label-map', args.label_map]
    if args.cfg_options:
        cmd += ['--cfg-options', *args.cfg_options]
    return stad_main(cmd)


if __name__ == '__main__':
    sys.exit(main())
