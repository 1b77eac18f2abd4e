_base_ = ['../_base_/default_runtime.py', 'no_such_base.py']
