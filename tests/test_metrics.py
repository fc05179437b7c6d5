import warnings

import numpy as np
import pytest
import torch

from teachbind import metrics


def test_auroc_known_answers():
    assert metrics.auroc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1
    assert metrics.auroc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0
    assert metrics.auroc([0, 1, 1], [0.5, 0.5, 0.2]) == 0.25
    assert metrics.auroc(torch.tensor([0, 1, 0, 1]), torch.tensor([0.1, 0.4, 0.5, 0.8])) == 0.75


def test_aupr_and_pearson_known_answers():
    assert metrics.aupr([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1
    assert metrics.aupr([1, 0, 0, 1], [0.9, 0.8, 0.2, 0.1]) == pytest.approx((1 + 0.5) / 2)
    assert metrics.pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1)
    assert metrics.pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1)


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="only one class"):
        metrics.auroc([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="3 entries but scores have 2"):
        metrics.auroc([0, 1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="NaN"):
        metrics.auroc([0, 1], [np.nan, 0.3])
    with pytest.raises(ValueError, match="targets are constant"):
        metrics.pearson([1, 1, 1], [1, 2, 3])


def test_constant_predictions_score_chance_with_a_warning():
    with pytest.warns(RuntimeWarning, match="predictions are constant"):
        assert metrics.pearson([1, 2, 3], [0.5, 0.5, 0.5]) == 0.0
    with pytest.warns(RuntimeWarning, match="scores are constant.*AUROC is 0.5"):
        assert metrics.auroc([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3]) == 0.5
    with pytest.warns(RuntimeWarning, match="scores are constant.*AUPR is the fraction of positives"):
        assert metrics.aupr([0, 1, 0, 0], [2.0, 2.0, 2.0, 2.0]) == 0.25


def test_scores_that_vary_raise_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert metrics.auroc([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8]) == 1.0
        assert metrics.aupr([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8]) == 1.0


def test_auroc_columns_equals_auroc_of_each_column(rng):
    labels = rng.integers(0, 2, 300)
    scores = rng.normal(size=(300, 5)) + labels[:, None] * np.arange(5)[None, :]
    scores[:10, 0] = 1.0  # ties
    expected = [metrics.auroc(labels, scores[:, j]) for j in range(5)]
    assert np.allclose(metrics.auroc_columns(labels, scores), expected)


def test_auroc_standard_error_matches_the_spread_over_resampled_test_sets():
    rng = np.random.default_rng(0)
    n = 500
    aucs = [metrics.auroc(np.r_[np.ones(n), np.zeros(n)], np.r_[rng.normal(1.2, 1, n), rng.normal(0, 1, n)])
            for _ in range(400)]
    predicted = metrics.auroc_standard_error(float(np.mean(aucs)), n, n)
    assert 0.8 < np.std(aucs) / predicted < 1.2
    assert metrics.auroc_standard_error(1.0, n, n) == 0


def test_spearman_is_one_for_any_increasing_relation_and_pearson_is_not():
    x = np.linspace(-2, 2, 50)
    assert metrics.spearman(x, np.exp(3 * x)) == pytest.approx(1.0)
    assert metrics.pearson(x, np.exp(3 * x)) < 0.8
    assert metrics.spearman(x, -x) == pytest.approx(-1.0)
    assert metrics.spearman([1, 2, 2, 3], [1, 2, 2, 3]) == pytest.approx(1.0)


def _scored_test_set(rng, n=400, shift=1.2):
    return np.r_[np.ones(n), np.zeros(n)], np.r_[rng.normal(shift, 1, n), rng.normal(0, 1, n)]


def test_bootstrap_interval_is_as_wide_as_hanley_mcneil_and_covers_the_true_auroc():
    from scipy.stats import norm

    true_auc = norm.cdf(1.2 / np.sqrt(2))
    rng = np.random.default_rng(1)
    covered = 0
    for trial in range(40):
        labels, scores = _scored_test_set(rng)
        estimate, low, high = metrics.bootstrap(labels, scores, n=400, seed=trial)
        assert low < estimate < high
        assert 0.8 < (high - low) / (2 * 1.96 * metrics.auroc_standard_error(estimate, 400, 400)) < 1.2
        covered += low <= true_auc <= high
    assert covered >= 34, f"a 95% interval covered the true AUROC in only {covered} of 40 test sets"
    assert metrics.bootstrap(labels, scores, n=100, seed=3) == metrics.bootstrap(labels, scores, n=100, seed=3)


def test_bootstrap_keeps_each_class_and_works_for_any_metric():
    rng = np.random.default_rng(2)
    labels = np.r_[np.ones(3), np.zeros(97)]
    estimate, low, high = metrics.bootstrap(labels, rng.normal(size=100) + labels, n=200)
    assert 0 <= low <= estimate <= high <= 1
    targets = rng.normal(size=300)
    r, low, high = metrics.bootstrap(targets, targets + rng.normal(size=300), metrics.pearson, n=200)
    assert low < r < high and r == pytest.approx(metrics.pearson(targets, targets + rng.normal(size=300)), abs=0.1)


def test_paired_bootstrap_sees_a_difference_that_separate_intervals_cannot():
    rng = np.random.default_rng(3)
    labels, shared = _scored_test_set(rng, n=300, shift=1.0)
    better = shared + 0.3 * labels + rng.normal(0, 0.2, 600)
    worse = shared + rng.normal(0, 0.2, 600)
    a, b = metrics.bootstrap(labels, better, seed=0), metrics.bootstrap(labels, worse, seed=0)
    assert a.low < b.high, "the separate intervals overlap"
    difference = metrics.paired_bootstrap(labels, better, worse, seed=0)
    assert difference.estimate == pytest.approx(a.estimate - b.estimate)
    assert 0 < difference.low < difference.estimate < difference.high
    assert metrics.paired_bootstrap(labels, worse, worse) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="600, 600 and 599"):
        metrics.paired_bootstrap(labels, better, worse[:-1])
