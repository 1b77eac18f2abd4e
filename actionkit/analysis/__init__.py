"""The logic behind ``tools/analysis/``: training logs, results files, score fusion, dataset
checks and inference speed. The tools are thin command lines over these modules; the plots
themselves are drawn by :mod:`actionkit.visualization`.

- :mod:`.logs`: read ``*.log.json`` training logs; curves and training speed.
- :mod:`.results`: read ``tools/test.py --out`` results files (safe unpickling).
- :mod:`.evaluate`: re-score results with the config's dataset; confusion matrices.
- :mod:`.fusion`: weighted fusion of several models' scores (RGB + flow).
- :mod:`.videos`: find unreadable videos of a dataset and write a clean annotation list.
- :mod:`.benchmark`: inference videos/s, data loading included.
- :mod:`.windows`: sliding-window recognition over a frame stream (long-video, webcam demos).
- :mod:`.detection_map`: detection mAP of class-agnostic proposals labelled by a classifier.
- :mod:`.data_benchmark`: data-loading videos/s of a config's training pipeline.
- :mod:`.gradcam`: Grad-CAM heat maps of 2D and 3D recognizers (MMAction2's ``GradCAM``).
"""
from .benchmark import BenchmarkResult, benchmark_inference
from .data_benchmark import DataLoadingResult, benchmark_dataloading
from .detection_map import report_detection_map
from .evaluate import (build_split_dataset, evaluate_results, read_label_names,
                       results_confusion_matrix)
from .fusion import fuse_scores, fusion_accuracy, read_list_labels
from .gradcam import GradCAM
from .logs import TrainingLog, TrainTime, curve_panels, load_json_log, load_json_logs, \
    train_time_stats
from .results import load_results, score_matrix
from .videos import BadVideo, VideoCheck, check_dataset, write_bad_list, write_clean_list
from .windows import WindowScorer, sliding_windows, window_pipeline

__all__ = [
    'GradCAM',
    'BenchmarkResult', 'benchmark_inference', 'build_split_dataset', 'evaluate_results',
    'read_label_names', 'results_confusion_matrix', 'fuse_scores', 'fusion_accuracy',
    'read_list_labels', 'TrainingLog', 'TrainTime', 'curve_panels', 'load_json_log',
    'load_json_logs', 'train_time_stats', 'load_results', 'score_matrix', 'BadVideo',
    'VideoCheck', 'check_dataset', 'write_bad_list', 'write_clean_list', 'WindowScorer',
    'sliding_windows', 'window_pipeline', 'DataLoadingResult', 'benchmark_dataloading',
    'report_detection_map',
]
