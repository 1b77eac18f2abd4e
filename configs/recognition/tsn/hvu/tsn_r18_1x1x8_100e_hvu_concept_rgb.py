# TSN R-18, 8 segments, 100 epochs on the HVU concept tags: the action config with another
# tag category (its file-level values are computed from target_cate, so they are set again).
_base_ = ['./tsn_r18_1x1x8_100e_hvu_action_rgb.py']

target_cate = 'concept'
num_classes = 291  # category_nums[target_cate]
model = dict(cls_head=dict(num_classes=num_classes))

ann_file_train = f'data/hvu/hvu_{target_cate}_train.json'
ann_file_val = f'data/hvu/hvu_{target_cate}_val.json'
ann_file_test = f'data/hvu/hvu_{target_cate}_val.json'
data = dict(
    train=dict(ann_file=ann_file_train, num_classes=num_classes),
    val=dict(ann_file=ann_file_val, num_classes=num_classes),
    test=dict(ann_file=ann_file_test, num_classes=num_classes))

work_dir = f'./work_dirs/tsn_r18_1x1x8_100e_hvu_{target_cate}_rgb/'
