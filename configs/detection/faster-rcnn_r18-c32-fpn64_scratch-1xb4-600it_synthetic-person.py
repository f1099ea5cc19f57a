# CPU person detector for the synthetic dataset (`stad synth --out data/synthetic`):
# Faster R-CNN with a narrow ResNet-18 (32 base channels) and a 64-channel FPN, trained
# from scratch on 2 CPU cores in a few minutes at 3/4 of the frames' size (240x180).
#
#   stad train configs/detection/faster-rcnn_r18-c32-fpn64_scratch-1xb4-600it_synthetic-person.py
#   mim train mmdet configs/detection/faster-rcnn_r18-c32-fpn64_scratch-1xb4-600it_synthetic-person.py
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py']

custom_imports = dict(imports=['stad'], allow_failed_imports=False)

data_root = 'data/synthetic/'
metainfo = dict(classes=('person', ), palette=[(220, 20, 60)])
max_iters = 600
ckpt_interval = 300

# No pretrained weights exist offline: train everything, with batch statistics
# (norm_eval=False, frozen_stages=-1); plain BN, one process.
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(
        depth=18,
        base_channels=32,
        # People are >= ~37 px at the input size: the stride-4 level (a quarter of the
        # compute of the FPN and RPN) is not needed; P3-P6 (strides 8-64) cover them.
        out_indices=(1, 2, 3),
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        init_cfg=None),
    neck=dict(in_channels=[64, 128, 256], out_channels=64, num_outs=4),
    rpn_head=dict(
        in_channels=64,
        feat_channels=64,
        # Upright people (height/width ~1-3), ~37-150 px tall at the input size: anchors
        # 48-384 px.
        anchor_generator=dict(scales=[6], ratios=[1.0, 2.0, 3.0], strides=[8, 16, 32, 64])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64, featmap_strides=[8, 16, 32]),
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=1)),
    train_cfg=dict(
        rpn=dict(sampler=dict(num=128)),
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100)))

backend_args = None
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    # 3/4 of the synthetic 320x240 frames (people stay >= ~37 px tall; boxes are mapped
    # back to the frame): a faster step at the same accuracy (docs/experiments.md).
    dict(type='Resize', scale=(240, 180), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(240, 180), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]

train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/multisports_det_anno_train.json',
        data_prefix=dict(img='rawframes/'),
        metainfo=metainfo,
        filter_cfg=dict(filter_empty_gt=True, min_size=4),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/multisports_det_anno_val.json',
        data_prefix=dict(img='rawframes/'),
        metainfo=metainfo,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/multisports_det_anno_val.json',
    metric='bbox')
test_evaluator = val_evaluator

train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=30),
    dict(
        type='MultiStepLR',
        by_epoch=False,
        begin=0,
        end=max_iters,
        milestones=[int(max_iters * 0.75), int(max_iters * 0.9)],
        gamma=0.1)
]
# From scratch in a few hundred steps AdamW converges far faster than SGD
# (docs/experiments.md).
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=0.002, weight_decay=0.05),
    clip_grad=dict(max_norm=35, norm_type=2))
auto_scale_lr = dict(enable=False)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=ckpt_interval, max_keep_ckpts=2))
log_processor = dict(by_epoch=False, window_size=10)
