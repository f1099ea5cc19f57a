# SlowOnly ResNet3d-18 (16 base channels) trained from scratch on CPU on stad's
# synthetic dataset (`stad synth --out data/synthetic` + `stad convert` + `stad propose`):
# 4 actions ('jumping jack', 'squat', 'wave', 'walk'), ~320x240 at ~25 fps.
# Paths as in stad/io/layout.py::DataLayout('data/synthetic').
# Sized for 2 CPU cores: 4 frames x 160 px short side, batch 8, 2400 iterations. Clips span
# 13 frames, about one cycle of the synthetic actions (10-16 frames), so the motion is in
# every clip. How this was chosen (every run measured): docs/experiments.md.
_base_ = ['mmaction::detection/slowonly/'
          'slowonly_kinetics400-pretrained-r50_8xb16-4x16x1-8e_multisports-rgb.py']

custom_imports = dict(imports=['stad'], allow_failed_imports=False)

num_classes = 4
clip_len = 4
frame_interval = 4
short_side = 160
max_iters = 2400

model = dict(
    init_cfg=None,  # from scratch: no pretrained weights on this machine
    # Clips leave the preprocessor channels-last (same values): the CPU (oneDNN)
    # convolutions then run in that layout without reorders (bench_action_train.py).
    data_preprocessor=dict(type='stad.ChannelsLastActionDataPreprocessor'),
    backbone=dict(
        depth=18,
        base_channels=16,
        # Temporal (3x3x3) convolutions in both blocks of res4 and none in res5, which has
        # one block: res5 runs at stride 16 with the most channels (upstream's layout is
        # 1.75-1.94x slower a step, bench_action_train.py; docs/experiments.md).
        inflate=(0, 0, (1, 1), (0, )),
        stage_blocks=(2, 2, 2, 1),
        pretrained=None),
    roi_head=dict(
        bbox_roi_extractor=dict(output_size=8),
        bbox_head=dict(
            in_channels=128,  # base_channels * 2**3 (BasicBlock, expansion 1)
            num_classes=num_classes,
            multilabel=False,
            # BBoxHeadAVA asserts every k < num_classes (docs/stack.md, bug 6)
            topk=(1, 2),
            dropout_ratio=0.2)))

# stad's inference API (`stad eval`, `stad run`'s eval, the demo) averages each box's class
# probabilities over the clip and its mirror image (a second backbone pass; its gain:
# docs/evaluation.md). mmaction2's test loop (`mim test`) does not flip.
stad_flip_test = True

# AVADataset with MultiSports' fps=1, timestamp_start=1, start_index=0 pinned
dataset_type = 'stad.MultiSportsDataset'
data_root = 'data/synthetic'
video_root = f'{data_root}/trainval'
anno_root = f'{data_root}/annotations'
ann_file_train = f'{anno_root}/multisports_train.csv'
ann_file_val = f'{anno_root}/multisports_val.csv'
proposal_file_train = f'{anno_root}/multisports_proposals_train.pkl'
proposal_file_val = f'{anno_root}/multisports_proposals_val.pkl'
gt_file = f'{video_root}/multisports_GT.pkl'

# Each video is decoded once into a frame cache (.stad_frames beside the videos, or
# $STAD_CACHE_DIR; 18 MiB per synthetic video) and clips are read from it: decord's open
# + seek per clip took ~15 ms a sample in the loading workers, CPU the training step needs
# (1.3 ms from the cache, bench_action_train.py). Real-data configs keep decord.
train_pipeline = [
    dict(type='stad.CachedDecordInit'),
    dict(type='SampleAVAFrames', clip_len=clip_len, frame_interval=frame_interval),
    dict(type='stad.CachedDecordDecode'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='stad.CachedDecordInit'),
    dict(type='SampleAVAFrames', clip_len=clip_len, frame_interval=frame_interval,
         test_mode=True),
    dict(type='stad.CachedDecordDecode'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='PackActionInputs')
]

train_dataloader = dict(
    _delete_=True,
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_train,
        pipeline=train_pipeline,
        num_classes=num_classes,
        proposal_file=proposal_file_train,
        person_det_score_thr=0.5,
        data_prefix=dict(img=video_root)))
val_dataloader = dict(
    _delete_=True,
    batch_size=1,  # AVARoIHead.predict takes one sample (docs/stack.md, bug 7)
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_val,
        pipeline=val_pipeline,
        num_classes=num_classes,
        proposal_file=proposal_file_val,
        person_det_score_thr=0.5,
        data_prefix=dict(img=video_root),
        test_mode=True))
test_dataloader = val_dataloader

# per_class: one detection per box and class, not only its best one (docs/evaluation.md)
val_evaluator = dict(_delete_=True, type='stad.MultiSportsMAP', ann_file=gt_file, per_class=True)
test_evaluator = val_evaluator

train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=max_iters)

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', T_max=max_iters, eta_min_ratio=0.01, by_epoch=False,
         begin=0, end=max_iters)
]

optim_wrapper = dict(
    _delete_=True,
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4),
    clip_grad=dict(max_norm=5, norm_type=2))

default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=200, by_epoch=False, max_keep_ckpts=2, save_best=None))
log_processor = dict(by_epoch=False)

# CPU distributed runs (`--launcher pytorch`): gloo, and DDP without device_ids
# (mmengine passes device_ids=[LOCAL_RANK] unless the config sets it; DDP refuses that
# for CPU modules).
env_cfg = dict(dist_cfg=dict(backend='gloo'))
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False)
