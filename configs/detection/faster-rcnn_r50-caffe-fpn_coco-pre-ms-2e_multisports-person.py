# Person detector for real MultiSports data: mmdet's Faster R-CNN R50-caffe FPN
# (multi-scale training), one class 'person', fine-tuned from the COCO checkpoint on
# the COCO files `stad convert` writes. What mmaction2's
# projects/stad_tutorial/configs/faster-rcnn_r50-caffe_fpn_ms-1x_coco_ms_person.py
# trains, pointed at stad's data layout (stad/io/layout.py).
#
#   stad train configs/detection/faster-rcnn_r50-caffe-fpn_coco-pre-ms-2e_multisports-person.py
#   mim train mmdet configs/detection/faster-rcnn_r50-caffe-fpn_coco-pre-ms-2e_multisports-person.py
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50-caffe_fpn_ms-1x_coco.py']

custom_imports = dict(imports=['stad'], allow_failed_imports=False)

data_root = 'data/multisports/'
metainfo = dict(classes=('person', ), palette=[(220, 20, 60)])

model = dict(
    # load_from below holds the whole detector: skip the ImageNet backbone download.
    backbone=dict(init_cfg=None),
    roi_head=dict(bbox_head=dict(num_classes=1)))

# Fine-tuning: 2 epochs at a constant, small learning rate (as the tutorial).
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2, val_interval=1)
param_scheduler = [
    dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=500)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.005, momentum=0.9, weight_decay=0.0001))

train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/multisports_det_anno_train.json',
        data_prefix=dict(img='rawframes/'),
        metainfo=metainfo))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/multisports_det_anno_val.json',
        data_prefix=dict(img='rawframes/'),
        metainfo=metainfo))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/multisports_det_anno_val.json',
    metric='bbox')
test_evaluator = val_evaluator

default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2))

# COCO-trained Faster R-CNN R50-caffe FPN (multi-scale, 3x schedule): same architecture,
# so everything but the 80-class box head loads.
load_from = ('https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/'
             'faster_rcnn_r50_caffe_fpn_mstrain_3x_coco/'
             'faster_rcnn_r50_caffe_fpn_mstrain_3x_coco_20210526_095054-1f77628b.pth')
