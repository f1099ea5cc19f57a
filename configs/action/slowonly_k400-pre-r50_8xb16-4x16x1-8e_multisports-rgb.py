# mmaction2's MultiSports SlowOnly R50 (Kinetics-400 pretrained, 8 GPUs x 16 clips,
# 4 frames x interval 16, 8 epochs), pointed at stad's outputs under data/multisports
# (paths as in stad/io/layout.py::DataLayout):
#   annotations/multisports_{train,val}.csv       from `stad convert`
#   annotations/multisports_proposals_{train,val}.pkl  from `stad propose`
#   trainval/multisports_GT.pkl                   MultiSports ground truth
# and evaluated with stad's frame/video mAP (official protocol; upstream's
# MultiSportsMetric crashes under numpy 2 and mis-scores tubes, docs/stack.md).
# The pretrained checkpoint in init_cfg is downloaded from openmmlab.com: on a machine
# without that network, override `model.init_cfg=None` (trains from scratch).
_base_ = ['mmaction::detection/slowonly/'
          'slowonly_kinetics400-pretrained-r50_8xb16-4x16x1-8e_multisports-rgb.py']

custom_imports = dict(imports=['stad'], allow_failed_imports=False)

data_root = 'data/multisports'
video_root = f'{data_root}/trainval'
anno_root = f'{data_root}/annotations'
ann_file_train = f'{anno_root}/multisports_train.csv'
ann_file_val = f'{anno_root}/multisports_val.csv'
proposal_file_train = f'{anno_root}/multisports_proposals_train.pkl'
proposal_file_val = f'{anno_root}/multisports_proposals_val.pkl'
gt_file = f'{video_root}/multisports_GT.pkl'

# stad.MultiSportsDataset: AVADataset with MultiSports' frame arithmetic pinned
train_dataloader = dict(
    dataset=dict(
        type='stad.MultiSportsDataset',
        ann_file=ann_file_train,
        proposal_file=proposal_file_train,
        data_prefix=dict(img=video_root)))
val_dataloader = dict(
    dataset=dict(
        type='stad.MultiSportsDataset',
        ann_file=ann_file_val,
        proposal_file=proposal_file_val,
        data_prefix=dict(img=video_root)))
test_dataloader = val_dataloader

# per_class: one detection per box and class, not only its best one (docs/evaluation.md)
val_evaluator = dict(_delete_=True, type='stad.MultiSportsMAP', ann_file=gt_file, per_class=True)
test_evaluator = val_evaluator
