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
