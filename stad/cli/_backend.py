"""``--backend``, ``--onnx-dir``, ``--precision``: where the models run, spelled the same
by every verb that runs them (``stad demo``, ``stad propose``, ``stad predict-videos``)."""
from __future__ import annotations

from stad.apis.runtime import BACKENDS, PRECISIONS


def add_backend_options(p) -> None:
    p.add_argument('--backend', choices=BACKENDS,
                   help='run the models in eager PyTorch, or the files of `stad export onnx` '
                        '(--onnx-dir) on ONNX Runtime, OpenVINO, or auto: each model on the '
                        'runtime measured fastest for it (the detector on ONNX Runtime, the '
                        'action model on OpenVINO; tools/benchmarks/bench_backends.py). '
                        'Default: auto with --onnx-dir, else torch')
    p.add_argument('--onnx-dir', metavar='DIR',
                   help='the folder `stad export onnx --out DIR` wrote (for --backend '
                        'onnxruntime / openvino; its configs stand in for --det-config / '
                        '--config, its weights for the checkpoints)')
    p.add_argument('--precision', default='f32', choices=PRECISIONS,
                   help="OpenVINO's inference precision (with auto: the action model's and "
                        "the detector's features graph's): bf16 is faster on CPUs with "
                        'AVX512-BF16/AMX; its effect on frame-mAP and video-mAP is in '
                        'docs/evaluation.md (the export parity check is f32)')


def check_model_args(args, *, det: bool = True) -> None:
    """The models' configs and checkpoints (the detector's too if ``det``) are needed on
    torch; with ``--onnx-dir`` on another backend they are optional (the export has both
    configs and the weights)."""
    from stad.errors import StadError
    resolve_backend(args)
    if args.backend != 'torch':
        if not args.onnx_dir:
            raise StadError(f'--backend {args.backend} runs the files of `stad export onnx`: '
                            'give their folder with --onnx-dir')
        return
    keys = ('det_config', 'det_checkpoint') * det + ('config', 'checkpoint')
    missing = [f'--{k.replace("_", "-")}' for k in keys if not getattr(args, k)]
    if missing:
        raise StadError(f'{", ".join(missing)} required (or --backend onnxruntime|openvino '
                        'with --onnx-dir)')


def resolve_backend(args) -> str:
    """``--backend``'s default: auto with ``--onnx-dir``, else torch (set on ``args``)."""
    if args.backend is None:
        args.backend = 'auto' if args.onnx_dir else 'torch'
    return args.backend
