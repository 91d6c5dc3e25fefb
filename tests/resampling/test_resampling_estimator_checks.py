"""imbalanced-learn's own sampler check suite (``imblearn.utils.estimator_checks``) on our samplers.

Every check imbalanced-learn yields for a sampler (from its tags) runs on ours; each must pass unless
imbalanced-learn's own sampler with the same settings fails it too (then it is reported as xfail). With
imbalanced-learn 0.14.2 those are SMOTENC's ``check_samplers_string`` (all-categorical X: "SMOTE-NC is not
designed to work only with categorical features"; imbalanced-learn's own suite skips SMOTENC entirely)
and, for ``RandomOverSampler(shrinkage=...)``, ``check_samplers_string`` and ``check_samplers_nan``
(a smoothed bootstrap needs finite numbers). Ours passes ``check_samplers_preserve_dtype`` with
shrinkage, which imbalanced-learn's fails (it returns float64 for float32 X).
"""

from __future__ import annotations

import warnings

import pytest

imblearn_checks = pytest.importorskip("imblearn.utils.estimator_checks")
pytest.importorskip("pandas")
import imblearn.combine as imb_combine  # noqa: E402
import imblearn.over_sampling as imb  # noqa: E402
import imblearn.under_sampling as imb_under  # noqa: E402

import torchaug.resampling as ours  # noqa: E402

pytestmark = pytest.mark.peer

PAIRS = {
    "SMOTE": (lambda: ours.SMOTE(random_state=0), lambda: imb.SMOTE(random_state=0)),
    "BorderlineSMOTE": (lambda: ours.BorderlineSMOTE(random_state=0), lambda: imb.BorderlineSMOTE(random_state=0)),
    "BorderlineSMOTE2": (lambda: ours.BorderlineSMOTE(kind="borderline-2", random_state=0),
                         lambda: imb.BorderlineSMOTE(kind="borderline-2", random_state=0)),
    "ADASYN": (lambda: ours.ADASYN(random_state=0), lambda: imb.ADASYN(random_state=0)),
    "RandomOverSampler": (lambda: ours.RandomOverSampler(random_state=0), lambda: imb.RandomOverSampler(random_state=0)),
    "RandomOverSamplerShrinkage": (lambda: ours.RandomOverSampler(shrinkage=0.5, random_state=0),
                                   lambda: imb.RandomOverSampler(shrinkage=0.5, random_state=0)),
    "SMOTENC": (lambda: ours.SMOTENC(categorical_features=[0], random_state=0),
                lambda: imb.SMOTENC(categorical_features=[0], random_state=0)),
    "SMOTEN": (lambda: ours.SMOTEN(random_state=0), lambda: imb.SMOTEN(random_state=0)),
    "SVMSMOTE": (lambda: ours.SVMSMOTE(random_state=0), lambda: imb.SVMSMOTE(random_state=0)),
    "KMeansSMOTE": (lambda: ours.KMeansSMOTE(random_state=0, cluster_balance_threshold=0.1),
                    lambda: imb.KMeansSMOTE(random_state=0, cluster_balance_threshold=0.1)),
    # issue 28: under-samplers, cleaners and combinations
    **{name: (lambda name=name, kw=kw: getattr(ours, name)(**kw), lambda name=name, kw=kw: getattr(imb_under, name)(**kw))
       for name, kw in (("RandomUnderSampler", {"random_state": 0}), ("TomekLinks", {}), ("EditedNearestNeighbours", {}),
                        ("RepeatedEditedNearestNeighbours", {}), ("AllKNN", {}), ("NearMiss", {}),
                        ("CondensedNearestNeighbour", {"random_state": 0}), ("OneSidedSelection", {"random_state": 0}),
                        ("NeighbourhoodCleaningRule", {}), ("InstanceHardnessThreshold", {"random_state": 0}),
                        ("ClusterCentroids", {"random_state": 0}))},
    "SMOTEENN": (lambda: ours.SMOTEENN(random_state=0), lambda: imb_combine.SMOTEENN(random_state=0)),
    "SMOTETomek": (lambda: ours.SMOTETomek(random_state=0), lambda: imb_combine.SMOTETomek(random_state=0)),
}


def _names(est):
    return [imblearn_checks._check_name(c) for _, c in imblearn_checks.estimator_checks_generator(est)]


def _cases():
    out = []
    for pair, (mk_ours, _) in PAIRS.items():
        for name in _names(mk_ours()):
            out.append(pytest.param(pair, name, id=f"{pair}-{name}"))
    return out


def _run(est, name):
    for e, check in imblearn_checks.estimator_checks_generator(est):
        if imblearn_checks._check_name(check) == name:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                check(e)
            return
    raise AssertionError(f"imbalanced-learn yields no check {name} for {type(est).__name__}")


#: checks imbalanced-learn yields for its sampler that ours does not take: our RandomUnderSampler selects
#: rows of float X only (string and NaN X are refused with a TypeError/ValueError naming X)
NOT_YIELDED = {"RandomUnderSampler": {"check_samplers_nan", "check_samplers_string"}}


def test_same_checks_as_imblearn():
    """The tags make imbalanced-learn yield the same checks for ours as for its own sampler."""
    for pair, (mk_ours, mk_imb) in PAIRS.items():
        expected = sorted(set(_names(mk_imb())) - NOT_YIELDED.get(pair, set()))
        assert sorted(_names(mk_ours())) == expected, pair


@pytest.mark.parametrize(("pair", "name"), _cases())
def test_imblearn_sampler_check(pair, name):
    mk_ours, mk_imb = PAIRS[pair]
    try:
        _run(mk_ours(), name)
    except (AssertionError, ValueError, TypeError) as err:
        # allowed only where imbalanced-learn's own sampler fails the check too
        try:
            _run(mk_imb(), name)
        except Exception:
            pytest.xfail(f"imbalanced-learn's {type(mk_imb()).__name__} fails {name} too; ours: {err}")
        raise


@pytest.mark.parametrize("pair", [p for p in PAIRS if getattr(PAIRS[p][0](), "_sampling_type", "") == "over-sampling"
                                  and p not in ("SMOTEENN", "SMOTETomek")])  # combined: the cleaner removes rows
def test_over_sampler_count_assertions(pair):
    """imbalanced-learn's check_samplers_fit_resample and check_samplers_sampling_strategy_fit_resample
    assert counts only for subclasses of its own BaseOverSampler; the same assertions for ours."""
    from collections import Counter

    X, y = imblearn_checks.sample_dataset_generator()
    _, y_res = PAIRS[pair][0]().fit_resample(X, y)
    n_max = max(Counter(y).values())
    assert all(v >= n_max for v in Counter(y_res).values()), Counter(y_res)
    s = PAIRS[pair][0]().set_params(sampling_strategy={2: 498, 0: 498})
    _, y_res = s.fit_resample(X, y)
    assert Counter(y_res)[1] == Counter(y)[1]
