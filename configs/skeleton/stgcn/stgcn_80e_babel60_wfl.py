# ST-GCN on BABEL-60 with the class-balanced focal loss (BABEL's long-tailed classes).
_base_ = ['./stgcn_80e_babel60.py']

# training samples per class in BABEL-60
samples_per_cls = [
    518, 1993, 6260, 508, 208, 3006, 431, 724, 4527, 2131, 199, 1255, 487, 302, 136, 571, 267,
    646, 1180, 405, 731, 842, 1619, 271, 1198, 1012, 865, 462, 526, 405, 487, 168, 271, 609,
    503, 167, 415, 421, 283, 2069, 715, 196, 989, 122, 599, 396, 245, 380, 236, 260, 325, 133,
    206, 191, 394, 145, 277, 268, 172, 146
]
model = dict(cls_head=dict(loss_cls=dict(type='CBFocalLoss', samples_per_cls=samples_per_cls)))
work_dir = './work_dirs/stgcn_80e_babel60_wfl/'
