# ST-GCN on BABEL-120 with the class-balanced focal loss (BABEL's long-tailed classes).
_base_ = ['./stgcn_80e_babel120.py']

# training samples per class in BABEL-120
samples_per_cls = [
    518, 1993, 6260, 508, 208, 3006, 431, 724, 4527, 2131, 199, 1255, 487, 302, 136, 571, 267,
    646, 1180, 405, 72, 731, 842, 1619, 271, 27, 1198, 1012, 110, 865, 462, 526, 405, 487, 101,
    24, 84, 64, 168, 271, 609, 503, 76, 167, 415, 137, 421, 283, 2069, 715, 196, 66, 44, 989,
    122, 43, 599, 396, 245, 380, 34, 236, 260, 325, 127, 133, 119, 66, 125, 50, 206, 191, 394,
    69, 98, 145, 38, 21, 29, 64, 277, 65, 39, 31, 35, 85, 54, 80, 133, 66, 39, 64, 268, 34, 172,
    54, 33, 21, 110, 19, 40, 55, 146, 39, 37, 75, 101, 20, 46, 55, 43, 21, 43, 87, 29, 36, 24,
    37, 28, 39
]
model = dict(cls_head=dict(loss_cls=dict(type='CBFocalLoss', samples_per_cls=samples_per_cls)))
work_dir = './work_dirs/stgcn_80e_babel120_wfl/'
