"""Resampling for imbalanced data with torch: exact kNN on any device, the SMOTE family, under-sampling,
cleaning and combined samplers.

Needs torch, numpy and scikit-learn only (imbalanced-learn is optional, for pipelines and
comparisons). ``SMOTE``, ``BorderlineSMOTE``, ``ADASYN``, ``RandomOverSampler``, ``SMOTENC`` and ``SMOTEN`` take
imbalanced-learn's arguments and return ``fit_resample`` results in the same order; every sampler
has imbalanced-learn's interface through :class:`BaseSampler` (pandas, lists, sparse, tensors,
target forms, tags, ``set_output``, ``get_feature_names_out``).
"""

from torchaug.resampling._base import BaseSampler
from torchaug.resampling.categorical import SMOTEN, SMOTENC
from torchaug.resampling.images import Codec, resample_images
from torchaug.resampling.neighbors import DEFAULT_MEMORY_BUDGET, knn
from torchaug.resampling.plot import save_resampling_scatter
from torchaug.resampling.samplers import ADASYN, SMOTE, BorderlineSMOTE, RandomOverSampler
from torchaug.resampling.cleaning import (
    AllKNN,
    EditedNearestNeighbours,
    NeighbourhoodCleaningRule,
    RepeatedEditedNearestNeighbours,
    TomekLinks,
)
from torchaug.resampling.cluster_centroids import ClusterCentroids
from torchaug.resampling.combine import SMOTEENN, SMOTETomek
from torchaug.resampling.condensed import CondensedNearestNeighbour, OneSidedSelection
from torchaug.resampling.hardness import InstanceHardnessThreshold
from torchaug.resampling.svm_kmeans import SVMSMOTE, KMeansSMOTE
from torchaug.resampling.under_sampling import NearMiss, RandomUnderSampler

__all__ = [
    "ADASYN",
    "BaseSampler",
    "AllKNN",
    "ClusterCentroids",
    "CondensedNearestNeighbour",
    "EditedNearestNeighbours",
    "InstanceHardnessThreshold",
    "KMeansSMOTE",
    "NearMiss",
    "NeighbourhoodCleaningRule",
    "OneSidedSelection",
    "RandomUnderSampler",
    "RepeatedEditedNearestNeighbours",
    "SMOTEENN",
    "SMOTETomek",
    "SVMSMOTE",
    "TomekLinks",
    "BorderlineSMOTE",
    "Codec",
    "DEFAULT_MEMORY_BUDGET",
    "RandomOverSampler",
    "SMOTE",
    "SMOTEN",
    "SMOTENC",
    "knn",
    "resample_images",
    "save_resampling_scatter",
]
