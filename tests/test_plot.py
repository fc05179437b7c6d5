import matplotlib
import pandas as pd

from teachbind import plot

matplotlib.use("Agg")


def test_roc_curve_reports_the_auroc_in_its_legend():
    ax = plot.roc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], label="scan")
    assert ax.get_legend().get_texts()[0].get_text() == "scan (AUROC 0.750)"


def test_training_curves_plot_losses_and_the_metric():
    history = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [0.7, 0.5, 0.4], "valid_loss": [0.7, 0.6, 0.65],
                            "valid_auroc": [0.6, 0.8, 0.79]})
    ax = plot.training_curves(history)
    assert [line.get_label() for line in ax.get_lines()] == ["train loss", "valid loss"]
    assert list(ax.get_lines()[1].get_ydata()) == [0.7, 0.6, 0.65]


def test_cluster_order_puts_rows_with_the_same_profile_together():
    import numpy as np

    rows = np.array([[1, 0, 0, 1], [0, 5, 5, 0], [2, 0, 0, 2], [0, 1, 1, 0], [0, 0, 0, 0]], dtype=float)
    order = list(plot.cluster_order(rows))
    assert sorted(order) == [0, 1, 2, 3, 4] and order[-1] == 4
    assert abs(order.index(0) - order.index(2)) == 1 and abs(order.index(1) - order.index(3)) == 1


def test_influence_heatmap_and_search_history_draw_what_they_are_given():
    table = pd.DataFrame([[0.1, 0.0], [0.0, 0.2], [0.3, 0.0]], index=["f0", "f1", "f2"], columns=["a", "b"])
    ax = plot.influence_heatmap(table)
    assert sorted(t.get_text() for t in ax.get_yticklabels()) == ["f0", "f1", "f2"]
    assert ax.images[0].get_array().max() == 1.0
    ax = plot.search_history(pd.Series([0.6, 0.8, 0.7], index=[0, 1, 2]))
    assert list(ax.get_lines()[0].get_ydata()) == [0.6, 0.8, 0.8]
