# ST-GCN on BABEL-120; otherwise as BABEL-60.
_base_ = ['./stgcn_80e_babel60.py']

model = dict(cls_head=dict(num_classes=120))
ann_file_train = 'data/babel/babel120_train.pkl'
ann_file_val = 'data/babel/babel120_val.pkl'
data = dict(train=dict(dataset=dict(ann_file=ann_file_train)), val=dict(ann_file=ann_file_val),
            test=dict(ann_file=ann_file_val))
work_dir = './work_dirs/stgcn_80e_babel120'
