import numpy as np
import pytest
import torch

from teachbind import metrics


def test_auroc_known_answers():
    assert metrics.auroc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1
    assert metrics.auroc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0
    assert metrics.auroc([0, 1], [0.5, 0.5]) == 0.5
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
    assert metrics.auroc([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3]) == 0.5


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
