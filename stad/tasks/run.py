"""``stad run``: the whole pipeline, stage by stage, resumable.

Stages (:mod:`stad.tasks.stages` skips a stage whose record and outputs exist and whose
options, and those of every stage before it, are unchanged; otherwise it reruns it):

1. ``data``         synthetic dataset if the ground truth is absent (and the root is
                    synthetic), validation, COCO + CSV + label map, frames of annotated
                    frames for the detector;
2. ``det_train``    the person detector (resumes from its latest checkpoint);
3. ``propose``      person proposals for every video, and their recall;
4. ``action_train`` SlowOnly on the proposals (resumes);
5. ``eval``         ``stad predict`` on the val split, then frame-mAP and video-mAP;
6. ``demo``         a rendered val video and a still of it;
then ``metrics.json`` and ``report.md`` with plots (:mod:`stad.tasks.run_report`).

Each stage is a module-level function ``stage_<name>(o: RunOptions) -> dict`` that can
be called on its own once the stages before it have run.
"""
from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import asdict, dataclass

from stad.errors import StadError
from stad.io.atomic import atomic_path
from stad.io.layout import DataLayout
from stad.tasks.run_report import write_report
from stad.tasks.stages import Stage, run_stages
from stad.tasks.train import last_checkpoint, last_value, read_scalars

# configs/ of the repository, whatever the working directory
CONFIG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'configs')
SYNTH_DET_CONFIG = os.path.join(
    CONFIG_DIR, 'detection', 'faster-rcnn_r18-c32-fpn64_scratch-1xb4-600it_synthetic-person.py')
SYNTH_ACTION_CONFIG = os.path.join(
    CONFIG_DIR, 'action', 'slowonly_scratch-r18-c16_1xb8-4x4x1-2400i_synthetic-rgb.py')
SYNTH_ROOT = 'data/synthetic'


@dataclass(frozen=True)
class RunOptions:
    """Knobs of :func:`run_pipeline` (``stad run --help`` documents each)."""

    data_root: str = SYNTH_ROOT
    work_dir: str = 'work_dirs/run'
    det_config: str = SYNTH_DET_CONFIG
    action_config: str = SYNTH_ACTION_CONFIG
    synth: bool | None = None  # None: generate only if data_root is the synthetic default
    seed: int = 0  # synthetic data and both trainings
    synth_videos: int = 72
    synth_val_videos: int = 8
    synth_preset: str = 'default'  # or 'hard' (stad synth --preset): crossings, pan, 5 people
    det_iters: int | None = None  # override the configs' training length
    action_iters: int | None = None
    propose_score_thr: float = 0.3
    propose_train_stride: int = 4
    eval_mode: str = 'all_frames'
    tracker: str = 'bytetrack'  # person tracks of the proposals (stad.apis.tracking)
    linker: str = 'tracks'  # video-mAP tubes from those tracks, or 'moc' (stad eval --linker)
    demo: bool = True
    # annotations to import into <work_dir>/data first (stad import), then train on them
    source: str | None = None
    source_format: str = 'auto'  # stad.data.formats.detect.SOURCE_FORMATS, or 'auto'
    det_checkpoint: str | None = None  # a trained person detector: no det_train stage
    negative_class: str | None = None  # Create ML sources
    window_seconds: float | None = None  # the action clip's span (Create ML's window)

    def __post_init__(self):
        if self.source is not None:  # the imported dataset lives in the work dir
            object.__setattr__(self, 'data_root', os.path.join(self.work_dir, 'data'))
            if self.source_format == 'auto':
                from stad.data.formats.detect import detect_format
                object.__setattr__(self, 'source_format', detect_format(self.source))

    @property
    def layout(self) -> DataLayout:
        return DataLayout(self.data_root)

    @property
    def boxless(self) -> bool:
        """A source without boxes (Create ML): a person detector labels it."""
        return self.source is not None and self.source_format == 'createml'

    @property
    def det_data_root(self) -> str:
        """Where the detector trains: the dataset, or for a source without boxes the
        synthetic default (its people are what the detector must find)."""
        return SYNTH_ROOT if self.boxless else self.data_root

    def dir(self, stage: str) -> str:
        """The stage's own folder under the work dir (``det``, ``action``, ...)."""
        return os.path.join(self.work_dir, stage)

    @property
    def synthetic(self) -> bool:
        if self.synth is not None:
            return self.synth
        return os.path.normpath(self.data_root) == os.path.normpath(SYNTH_ROOT)


def _data_overrides(kind: str, root: str) -> dict:
    """Point a config's datasets at ``root`` (stad's layout) instead of its default."""
    lay = DataLayout(root)
    if kind == 'det':
        out = {}
        for dl in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            out[f'{dl}.dataset.data_root'] = root.rstrip('/') + '/'
        out['val_evaluator.ann_file'] = lay.coco('val')
        out['test_evaluator.ann_file'] = lay.coco('val')
        return out
    out = {}
    for dl, split in (('train_dataloader', 'train'), ('val_dataloader', 'val'),
                      ('test_dataloader', 'val')):
        out[f'{dl}.dataset.ann_file'] = lay.csv(split)
        out[f'{dl}.dataset.proposal_file'] = lay.proposals(split)
        out[f'{dl}.dataset.data_prefix.img'] = lay.video_dir
    out['val_evaluator.ann_file'] = lay.gt_file
    out['test_evaluator.ann_file'] = lay.gt_file
    return out


def _iters_overrides(iters: int | None) -> dict:
    if not iters:
        return {}
    # log at least a few times, so that short runs still have training curves, and save
    # a checkpoint every quarter of the run, so that a kill does not lose all of it
    return {'train_cfg.max_iters': iters, 'train_cfg.val_interval': iters,
            'default_hooks.checkpoint.interval': max(1, -(-iters // 4)),
            'default_hooks.logger.interval': max(1, min(10, iters // 5))}


def config_overrides(kind: str, root: str, iters: int | None = None,
                     seed: int | None = None) -> dict:
    """``--cfg-options`` that point a synthetic config (``kind`` 'det' or 'action') at the
    dataset ``root``, optionally shorten training to ``iters`` iterations and seed it
    (mmengine's ``randomness.seed``: on one machine a rerun repeats the figures)."""
    seeded = {} if seed is None else {'randomness.seed': seed}
    return {**_data_overrides(kind, root), **_iters_overrides(iters), **seeded}


def cli_options(overrides: dict) -> str:
    """``config_overrides(...)`` as a ``--cfg-options`` argument string."""
    return ' '.join(f'{k}={v}' for k, v in overrides.items())


def _train_stage(config: str, work_dir: str, overrides: dict, metric_keys: dict, *,
                 iters: int | None, validate: bool = True, **train_kwargs) -> dict:
    from stad.tasks.train import train
    # train_cfg.max_iters comes with the overrides; iters also stretches the LR schedule
    runner = train(config, work_dir=work_dir, resume=True, cfg_options=overrides,
                   iters=iters, quiet=True, **train_kwargs)
    rows = read_scalars(work_dir)
    out = {name: last_value(rows, key) for name, key in metric_keys.items()}
    if validate and metric_keys and any(v is None for v in out.values()):
        # a run killed during its last validation resumes past the last iteration and
        # does not validate again: validate the final model now
        from stad.tasks.logs import stdout_to_log
        with stdout_to_log(runner):
            metrics = runner.val() or {}
        out = {name: metrics.get(key) for name, key in metric_keys.items()}
    out['checkpoint'] = last_checkpoint(work_dir)
    return out


# ---------------------------------------------------------------------------- stages

def stage_import(o: RunOptions) -> dict:
    """``stad import`` of ``o.source`` into ``<work_dir>/data`` (replacing it)."""
    fmt, src, out = o.source_format, o.source, o.data_root
    if fmt == 'multisports':
        from stad.data.formats.common import probe_video, write_dataset
        from stad.data.gt import load_gt
        src_lay = DataLayout(src)
        gt = load_gt(src_lay.gt_file)
        infos = {v: probe_video(src_lay.video_path(v)) for v in gt['nframes']}
        write_dataset(out, gt, infos, overwrite=True, source=src_lay.gt_file)
        summary = None
    elif fmt == 'cvat':
        from stad.data.formats.cvat import import_cvat
        summary = import_cvat(src, out, overwrite=True)
    elif fmt == 'ava':
        from stad.data.formats.ava import import_ava
        summary = import_ava(src, out, overwrite=True)
    elif fmt == 'createml':
        from stad.tasks.autolabel import import_createml
        summary = import_createml(src, out, det_config=o.det_config, det_checkpoint=det_checkpoint(o),
                                  tracker=o.tracker, negative_class=o.negative_class,
                                  overwrite=True)
    else:
        raise StadError(f'unknown source format {fmt!r}')
    if summary is not None:
        for line in summary.lines:
            print(f'  {line}')
        print(f'imported {summary.videos} videos, {summary.tubes} tubes, labels '
              f'{", ".join(summary.labels)} from {src} ({fmt}) into {out}')
    return dict(format=fmt, source=os.path.abspath(src),
                **({} if summary is None else dict(videos=summary.videos, tubes=summary.tubes,
                                                   labels=list(summary.labels))))


def det_checkpoint(o: RunOptions) -> str:
    """The person detector's weights: the given ones, or those det_train wrote."""
    return o.det_checkpoint or last_checkpoint(o.dir('det'))


def stage_data(o: RunOptions) -> dict:
    """Synthetic data if asked and absent, validation, COCO + CSV + label map, frames."""
    from stad.data.convert import convert_gt
    from stad.data.frames import extract_frames
    from stad.data.gt import load_gt
    lay = o.layout
    if not os.path.isfile(lay.gt_file):
        if o.source is not None:
            raise StadError(f'{lay.gt_file} missing: the import stage did not run')
        if not o.synthetic:
            raise StadError(f'ground truth not found: {lay.gt_file} (pass --synth to '
                            f'generate a synthetic dataset there)')
        from stad.data.synth import synth as make
        make(o.data_root, seed=o.seed, videos=o.synth_videos,
             val_videos=min(o.synth_val_videos, max(1, o.synth_videos // 4)),
             preset=o.synth_preset)
    gt = load_gt(lay.gt_file)
    if o.synthetic:  # made by an earlier run with other sizes? say so, do not train on it
        n, n_val = len(gt['nframes']), len(gt['test_videos'][0])
        want_val = min(o.synth_val_videos, max(1, o.synth_videos // 4))
        if (n, n_val) != (o.synth_videos, want_val):
            raise StadError(f'{o.data_root} holds a synthetic dataset of {n} videos ({n_val} '
                            f'val), not the {o.synth_videos} ({want_val} val) asked for: '
                            'delete it to generate a new one, or pass another --data-root')
    convert_gt(lay, gt=gt)
    extract_frames(lay, frames='annotated', gt=gt)
    return dict(videos=len(gt['nframes']), labels=list(gt['labels']))


def stage_synth_for_det(o: RunOptions) -> dict:
    """For a source without boxes: the synthetic default dataset the detector trains on."""
    return stage_data(dataclasses.replace(o, source=None, data_root=SYNTH_ROOT, synth=True))


def stage_det_train(o: RunOptions) -> dict:
    """Train the person detector (resumes from its latest checkpoint)."""
    return _train_stage(o.det_config, o.dir('det'),
                        config_overrides('det', o.det_data_root, o.det_iters, o.seed),
                        {'bbox_AP50': 'coco/bbox_mAP_50', 'bbox_AP': 'coco/bbox_mAP'},
                        iters=o.det_iters)


def stage_propose(o: RunOptions) -> dict:
    """Person proposals for both splits and their recall."""
    from stad.apis.detect import ProposalOptions
    from stad.tasks.propose import propose
    ckpt = det_checkpoint(o)
    out = {}
    # Training the action model only learns from proposals that overlap a ground-truth
    # box at IoU >= 0.9 (its assigner; ground truth is added as proposals too), so on
    # train keyframes at a stride suffice (--propose-train-stride, default 4: a
    # keyframe without proposals still trains on its ground-truth boxes); val gets
    # every frame, because the official protocol counts detections on every frame.
    for split, stride in (('train', o.propose_train_stride), ('val', 1)):
        res = propose(o.det_config, ckpt, o.data_root,
                      work_dir=os.path.join(o.dir('propose'), split), splits=[split],
                      options=ProposalOptions(score_thr=o.propose_score_thr,
                                              stride=stride), tracker=o.tracker)
        out[split] = (res.report or {}).get(split)
    return dict(report=out)


def stage_action_train(o: RunOptions) -> dict:
    """Train SlowOnly on the proposals (resumes)."""
    # No validation inside training: the eval stage scores the model on every frame
    # with proposals right after (the config's own val runs on annotated keyframes
    # only and would cost a minute more).
    from stad.tasks.train import dataset_labels_fps
    labels, fps = dataset_labels_fps(o.data_root)
    return _train_stage(o.action_config, o.dir('action'),
                        {**config_overrides('action', o.data_root, o.action_iters, o.seed),
                         'train_cfg.val_begin': 10**9}, {}, iters=o.action_iters,
                        validate=False, labels=labels, window_seconds=o.window_seconds,
                        fps=fps)


def stage_eval(o: RunOptions) -> dict:
    """``stad predict`` on the val split, then frame-mAP and video-mAP."""
    from stad.data.gt import load_gt
    from stad.tasks.evaluate import evaluate_and_write
    from stad.tasks.predict import predict
    eval_dir = o.dir('eval')
    # every frame that has proposals: background frames count (official protocol)
    out_path = os.path.join(eval_dir, 'detections.pkl')
    dets, ids = predict(o.action_config, last_checkpoint(o.dir('action')), o.data_root,
                        out_path, frames='all_frames')
    result, table = evaluate_and_write(
        load_gt(o.layout.gt_file), dets, mode=o.eval_mode, out_dir=eval_dir, linker=o.linker,
        track_ids=ids if o.linker == 'tracks' else None)
    print(table)
    out = dict(summary=result.summary(), mode=result.mode, linker=result.linker,
               per_class=result.frame[0.5].ap if 0.5 in result.frame else {})
    if o.boxless:  # a classifier-style test set: Create ML's / TAO's video-level accuracy
        from stad.tasks.evaluate_videos import evaluate_videos
        vres, vtable = evaluate_videos(o.data_root, out_path, split='val',
                                       out_dir=os.path.join(eval_dir, 'video_level'))
        print(vtable)
        out['video_level'] = vres.summary()
    return out


def stage_demo(o: RunOptions) -> dict:
    """Render the val video with the most people, and a still of it."""
    import cv2

    from stad.apis.video import DemoOptions
    from stad.data.gt import load_gt
    from stad.io.video import open_video
    from stad.tasks.demo import run_demo
    lay = o.layout
    gt = load_gt(lay.gt_file)
    # the val video with the most people (tubes) shows the most
    video = max(sorted(gt['test_videos'][0]),
                key=lambda v: sum(len(t) for t in gt['gttubes'].get(v, {}).values()))
    out = os.path.join(o.dir('demo'), 'demo.mp4')
    summary = run_demo(lay.video_path(video), out, det_config=o.det_config,
                       det_checkpoint=det_checkpoint(o), config=o.action_config,
                       checkpoint=last_checkpoint(o.dir('action')), label_map=lay.label_map,
                       options=DemoOptions(det_score_thr=0.5, action_score_thr=0.3))
    vr = open_video(out)
    still = os.path.join(o.dir('demo'), 'demo_still.png')
    with atomic_path(still) as tmp:
        cv2.imwrite(tmp + '.png', vr[len(vr) // 2].asnumpy()[:, :, ::-1])
        os.replace(tmp + '.png', tmp)
    return dict(video=video, still=still, **dataclasses.asdict(summary))


def build_stages(o: RunOptions) -> list[Stage]:
    """The pipeline's stages with the options each depends on and the files it makes."""
    lay = o.layout
    det_ckpt = o.det_checkpoint
    det_stages = [] if det_ckpt else [
        Stage('det_train', lambda: stage_det_train(o),
              [os.path.join(o.dir('det'), 'last_checkpoint')],
              # (keys only where they differ from a plain run: its records stay valid)
              params=dict(config=o.det_config, iters=o.det_iters, seed=o.seed,
                          **({'data_root': o.det_data_root} if o.boxless else {})),
              clean=[o.dir('det')])]
    import_stages = [] if o.source is None else [
        Stage('import', lambda: stage_import(o), [lay.gt_file],
              params=dict(source=os.path.abspath(o.source), format=o.source_format,
                          negative_class=o.negative_class,
                          detector=det_ckpt if o.boxless else None),
              clean=[])]
    if o.boxless:  # the detector labels the source: it comes first
        synth = DataLayout(SYNTH_ROOT)
        first = ([Stage('synth_for_det', lambda: stage_synth_for_det(o),
                        [synth.gt_file, synth.coco('train'), synth.coco('val')], params={},
                        clean=[])] if not det_ckpt else []) + det_stages + import_stages
        det_stages = []
    else:
        first = import_stages
    stages = first + [
        Stage('data', lambda: stage_data(o),
              [lay.gt_file, lay.coco('train'), lay.coco('val'), lay.csv('train'),
               lay.csv('val'), lay.label_map],
              # the seed makes the synthetic data only where there is none yet
              params=dict(data_root=o.data_root, synth=o.synthetic,
                          synth_videos=o.synth_videos,
                          synth_val_videos=o.synth_val_videos,
                          **({'synth_preset': o.synth_preset}
                             if o.synth_preset != 'default' else {})),
              clean=[]),
        *det_stages,
        Stage('propose', lambda: stage_propose(o), [lay.proposals('train'), lay.proposals('val')],
              params=dict(score_thr=o.propose_score_thr,
                          train_stride=o.propose_train_stride, tracker=o.tracker),
              clean=[o.dir('propose')]),
        Stage('action_train', lambda: stage_action_train(o),
              [os.path.join(o.dir('action'), 'last_checkpoint')],
              params=dict(config=o.action_config, iters=o.action_iters, seed=o.seed,
                          **({'window_seconds': o.window_seconds} if o.window_seconds
                             else {})),
              clean=[o.dir('action')]),
        Stage('eval', lambda: stage_eval(o), [os.path.join(o.dir('eval'), 'results.json')],
              params=dict(mode=o.eval_mode, linker=o.linker), clean=[o.dir('eval')]),
    ]
    if o.demo:
        stages.append(Stage('demo', lambda: stage_demo(o),
                            [os.path.join(o.dir('demo'), 'demo.mp4')], params={},
                            clean=[o.dir('demo')]))
    return stages


def run_pipeline(o: RunOptions) -> dict:
    """Run every stage (skipping complete, unchanged ones), then write ``metrics.json``
    and ``report.md`` into ``o.work_dir`` and print the final table. Returns the metrics."""
    for cfg in (o.det_config, o.action_config):
        if not os.path.isfile(cfg):
            raise StadError(f'config file not found: {cfg}')
    t0 = time.time()
    records = run_stages(o.work_dir, build_stages(o))
    return write_report(o.work_dir, records, options=asdict(o), wall_seconds=time.time() - t0)
