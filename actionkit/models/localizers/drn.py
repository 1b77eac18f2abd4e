"""``DRN`` (MMAction2 1.x, ``configs/localization/drn``): refused with the reason.

DRN (Zeng et al., "Dense Regression Network for Video Grounding", CVPR 2020) grounds a
*sentence* in a video: it embeds the query's words (a GloVe-sized vocabulary from the
Charades-STA word2id file) and runs an LSTM text encoder next to the video features. actionkit
ships no text model or word embeddings, and MMAction2 1.2.0's own package lacks DRN's code
(``mmaction/models/localizers/drn`` is missing from its sdist), so a DRN config is refused at
build time instead of building something that is not DRN.
"""
from __future__ import annotations

from typing import Any

from ..builder import LOCALIZERS

__all__ = ['DRN', 'DRN_REFUSAL']

DRN_REFUSAL = ('DRN (MMAction2 1.x, configs/localization/drn) grounds a sentence in a video '
               'and needs a text model (word embeddings and an LSTM query encoder for the '
               'Charades-STA vocabulary) that actionkit does not ship; MMAction2 1.2.0 itself '
               'cannot build it either (its sdist lacks mmaction/models/localizers/drn). Use '
               'BMN, BSN or TCANet for temporal proposals.')


@LOCALIZERS.register_module()
class DRN:
    """Not available: building it raises ``ValueError`` with :data:`DRN_REFUSAL`."""

    def __init__(self, **kwargs: Any) -> None:
        raise ValueError(DRN_REFUSAL)
