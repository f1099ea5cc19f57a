# SlowOnly ResNet3d-18 (16 base channels) trained from scratch on CPU on stad's
# synthetic dataset (`stad synth --out data/synthetic` + `stad convert` + `stad propose`):
# 4 actions ('jumping jack', 'squat', 'wave', 'walk'), ~320x240 at ~25 fps.
# Paths as in stad/data/layout.py::DataLayout('data/synthetic').
#
# Sizing (2 CPU cores): 4 frames x 160 px short side, batch 8. Step time varies with the
# machine: ~0.27 s (1200 iterations in about 5.5 minutes) with an earlier, heavier layout
# on the one this was first tuned on; on another of the same kind, 2026-11-25, 0.6-0.7 s
# with that layout and 0.4-0.45 s with this one (507 s for 1200 iterations in `make run`);
# 2026-11-29, fresh clone: 0.23 s (median logged step), 296 s in `make run`.
# Clips span 13 frames, about one cycle of the synthetic actions (10-16 frames), so the
# motion is in every clip.
# Measured on a 72-video synthetic set with GT-jittered proposals (frame-mAP@0.5, val):
# 8x2 frames at 112 px, 600 it: 0.47; at 160 px: 0.53; 4x4 frames at 160 px, 1200 it: 0.63.
# The larger input shows limbs (people are 45-80 px tall at 112 px); the shorter clip
# buys twice the iterations, and the loss was still falling at 600.
# Shorter runs lose a lot (stad run's evaluation: every class x detector score, every
# frame): 1200 it: 0.776; 600 it at lr 4e-3: 0.608; 128 px, 900 it: 0.613; res3 inflated
# too, 700 it: 0.728. res5 at stride 32 (spatial_strides (1, 2, 2, 2)) is 1.6x faster a
# step but learns far slower (loss 0.95 at iteration 740 vs 0.33), so res5 keeps stride 16.
# The previous layout (one 3D block in res4 and in res5), same proposals, LR schedule
# stretched to the run: 1200 it 0.794 (v-mAP@0.2 0.644); 800 it 0.593 (0.533); batch 4 x
# 1800 it (77% of the step time) 0.757 (0.571). This layout: 1200 it 0.778 (0.632), 1500 it
# 0.790 (0.595); res5 2D and one block, res4 one 3D block: 1200 it 0.761 (0.630).
# The training seed moves it more than these changes (2026-11-29, same proposals, with flip
# at test; 8-video val / 16-video val of an 80-video set): three seeds 0.722 / 0.730,
# 0.799 / 0.803, 0.766 / 0.765; with the fresh-clone run's proposals, seeds 0, 1, 2 (stad
# run --seed): 0.831 / 0.825, 0.820 / 0.813, 0.782 / 0.778 (README.md).
# Tried on top, not adopted: a per-clip colour jitter (hue,
# saturation, brightness, contrast) with the same three seeds 0.817 / 0.768, 0.811 / 0.786,
# 0.701 / 0.684; random rescale (short side 160-208) + 160x160 crop: 0.79x the step time,
# 0.636 (one seed).
_base_ = ['mmaction::detection/slowonly/'
          'slowonly_kinetics400-pretrained-r50_8xb16-4x16x1-8e_multisports-rgb.py']

custom_imports = dict(imports=['stad'], allow_failed_imports=False)

num_classes = 4
clip_len = 4
frame_interval = 4
short_side = 160
max_iters = 1200

model = dict(
    init_cfg=None,  # from scratch: no pretrained weights on this machine
    # Clips leave the preprocessor channels-last (same values): the CPU (oneDNN)
    # convolutions then run in that layout without reorders: 1.14-1.15x faster a step in
    # two of four runs of bench_action_train.py, the same in the other two.
    data_preprocessor=dict(type='stad.ChannelsLastActionDataPreprocessor'),
    backbone=dict(
        depth=18,
        base_channels=16,
        # Temporal (3x3x3) convolutions in both blocks of res4 and none in res5, which has
        # one block: res5 runs at stride 16 with the most channels, and was ~60% of the
        # network's multiply-adds with upstream's two inflated blocks (upstream's layout is
        # 1.75-1.94x slower a step: bench_action_train.py). Against the previous layout (one
        # 3D block in res4 and in res5), same proposals, 1200 it: frame-mAP@0.5 0.778 vs
        # 0.794, v-mAP@0.2 0.632 vs 0.644, v-mAP@0.5 0.272 vs 0.235, with 0.40-0.45 s a
        # logged step against 0.6-0.7 s in the same week's runs. A second run of this
        # layout on the same proposals gave 0.709: runs spread more than the layouts differ.
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
# probabilities over the clip and its mirror image (a second backbone pass): frame-mAP@0.5
# +0.019 to +0.047 on five trained models of this config (figures in docs/evaluation.md
# and README.md). mmaction2's test loop (`mim test`) does not flip.
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
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
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
