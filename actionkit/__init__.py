"""actionkit: video understanding (action recognition and temporal action localization) in PyTorch.

Importing ``actionkit`` is cheap; the registries fill when their subpackages are imported
(``actionkit.models``, ``actionkit.datasets``, ``actionkit.engine``).
"""
__version__ = '0.1.0'

__all__ = ['__version__']
