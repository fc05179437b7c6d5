import numpy as np
import pandas as pd
import torch

from teachbind import widgets
from teachbind.models import DeepBind
from teachbind.motifs import Motif

PNG = b"\x89PNG"


def small_model():
    torch.manual_seed(0)
    return DeepBind(filters=4, width=6, hidden=0, dropout=0.0, conv_init_scale=1.0, dense_init_scale=1.0)


def test_mutation_map_explorer_recomputes_when_the_sequence_changes():
    model = small_model()
    explorer = widgets.mutation_map_explorer(model, "ACGTACGTTTGACCA" * 3)
    _, text, status, span, image = explorer.children
    assert bytes(image.value).startswith(PNG) and "prediction" in status.value
    with torch.no_grad():
        expected = float(model.eval()(torch.nn.functional.one_hot(torch.tensor([[0, 1, 2, 3] * 5]), 4)
                                      .float().transpose(1, 2))[0])
    first = image.value
    text.value = "ACGT" * 5
    assert f"prediction <b>{expected:.3f}</b> for 20 nt" in status.value
    assert image.value != first and span.max == 20


def test_mutation_map_explorer_names_a_bad_letter_and_keeps_the_last_map():
    explorer = widgets.mutation_map_explorer(small_model(), "ACGTACGTACGT")
    _, text, status, _, image = explorer.children
    before = image.value
    text.value = "ACGTXCGT"
    assert "X" in status.value and "4" in status.value and image.value == before


def test_filter_browser_orders_filters_by_match_and_shows_the_match():
    rng = np.random.default_rng(0)
    filters = [Motif(f"filter {i}", f"f{i}", rng.dirichlet(np.ones(4), 6).T, sites=10 + i) for i in range(3)]
    database = [Motif("MA0001.1", "GATA1", rng.dirichlet(np.ones(4), 5).T)]
    matches = pd.DataFrame({"query": [0, 1, 2], "target_id": ["MA0001.1"] * 3, "target_name": ["GATA1"] * 3,
                            "q_value": [0.5, 1e-4, 0.2]})
    browser = widgets.filter_browser(filters, matches=matches, database=database, influence={1: -0.25})
    _, choice, info, image = browser.children
    assert [value for _, value in choice.options] == [1, 2, 0]
    assert "GATA1" in info.value and "a match" in info.value and bytes(image.value).startswith(PNG)
    assert "influence -0.25" in info.value
    first = image.value
    choice.value = 0
    assert "no significant match" in info.value and image.value != first


class Likes(torch.nn.Module):
    """1 for every copy of GCU in the sequence."""

    def forward(self, x):
        detector = torch.eye(4)[:, [2, 1, 3]][None]
        return (torch.nn.functional.conv1d(x.float(), detector)[:, 0] > 2.5).float().sum(-1, keepdim=True)


def test_gia_playground_counts_the_copies_it_writes_and_names_what_does_not_fit():
    from teachbind import seq

    background = seq.one_hot(["AAAAAAAAAAAAAAAAAAAA"] * 8, alphabet="RNA")
    playground = widgets.gia_playground(Likes(), background, pattern="GCU", alphabet="RNA")
    _, text, position, copies, spacing, status, image = playground.children
    assert "global importance <b>+1.000</b>" in status.value and bytes(image.value).startswith(PNG)
    position.value, copies.value, spacing.value = 2, 3, 1
    assert "<b>+3.000</b>" in status.value
    position.value = 15
    assert "does not fit" in status.value
    text.value = "GXU"
    assert "invalid letter &#x27;X&#x27; at position 1" in status.value
