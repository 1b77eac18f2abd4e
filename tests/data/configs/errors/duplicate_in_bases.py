_base_ = ['../_base_/schedules/sgd_10e.py', 'also_total_epochs.py']
