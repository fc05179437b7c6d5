"""Interactive explorers (ipywidgets) for a trained model. Figures are drawn as PNG images inside the widget, so an
executed notebook saves them with the widget's state and the static website shows the explorer as it was left.
Each chapter that shows an explorer also shows the same figure as a plain one.

- :func:`mutation_map_explorer`: edit a sequence, see the prediction and the mutation map update (Chapter 3).
- :func:`filter_browser`: pick a learned filter, see its logo and its best database match (Chapter 3).
- :func:`gia_playground`: a pattern, its position, copies and spacing → its global importance (Chapter 6).
"""

from __future__ import annotations

import html
import io
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from teachbind import interpret, plot, seq
from teachbind.interpret import gia
from teachbind.motifs import Motif
from teachbind.predict import Target, predict


def _png(fig: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _error(message: str) -> str:
    return f'<span style="color:#b00020">{html.escape(message)}</span>'


def mutation_map_explorer(model: torch.nn.Module, sequence: str, *, target: Target = None, alphabet: str = "DNA",
                          window: tuple[int, int] | None = None, device: str | torch.device = "auto"):
    """An editable sequence, the model's prediction for it and its mutation map (:func:`teachbind.plot.mutation_map`
    of :func:`teachbind.interpret.ism`), recomputed when the sequence changes; a slider picks the window shown.

    ``model`` maps one-hot ``(N, 4, L)`` to ``(N,)`` scores, or to outputs of which ``target`` selects one
    (:data:`teachbind.predict.Target`). An invalid sequence shows the validation error (letter
    and position) instead of a map. Returns an ``ipywidgets.VBox``.
    """
    import ipywidgets as widgets

    length = len(sequence)
    text = widgets.Textarea(value=sequence, continuous_update=False, rows=3,
                            layout=widgets.Layout(width="100%"))
    span = widgets.IntRangeSlider(value=window or (0, min(length, 60)), min=0, max=length, step=1,
                                  description="window", continuous_update=False, layout=widgets.Layout(width="100%"))
    status, image = widgets.HTML(), widgets.Image(format="png")
    state: dict = {}

    def redraw(_=None) -> None:
        start, end = span.value
        if end - start < 2:
            return
        fig = plot.mutation_map(state["effects"], state["sequence"], alphabet=alphabet, window=(start, end))
        image.value = _png(fig)

    def recompute(_=None) -> None:
        candidate = "".join(text.value.split()).upper()
        try:
            x = seq.one_hot(candidate, alphabet=alphabet)
        except ValueError as error:
            status.value = _error(str(error))
            return
        score = float(predict(model, x[None], target=target, device=device, amp=False)[0])
        effects = interpret.ism(model, x[None], target=target, device=device)[0]
        state.update(sequence=candidate, effects=effects.numpy())
        worst = np.unravel_index(state["effects"].argmin(), state["effects"].shape)
        letters = seq.get_alphabet(alphabet).letters
        status.value = (f"prediction <b>{score:.3f}</b> for {len(candidate)} nt; the most damaging substitution is "
                        f"{candidate[worst[1]]}{worst[1] + 1}{letters[worst[0]]} "
                        f"({state['effects'][worst]:+.3f})")
        span.max = len(candidate)
        if span.value[1] > len(candidate):
            span.value = (max(0, len(candidate) - 60), len(candidate))
        redraw()

    text.observe(recompute, names="value")
    span.observe(redraw, names="value")
    recompute()
    title = widgets.HTML("<b>Mutation-map explorer</b>: edit the sequence (then click outside the box); the map "
                         "shows the change in score for every substitution.")
    return widgets.VBox([title, text, status, span, image])


def filter_browser(filters: Sequence[Motif], *, matches: pd.DataFrame | None = None,
                   database: Sequence[Motif] = (), influence: Mapping[int, float] | None = None,
                   alphabet: str = "DNA"):
    """Pick a learned filter (a :class:`~teachbind.motifs.Motif`, e.g. from
    :func:`teachbind.motifs.motifs_from_activations`) to see its logo and, when ``matches``
    (:func:`teachbind.motifs.tomtom` of ``filters`` against ``database``) is given, its best match and that
    motif's logo; ``influence`` (filter index → number, e.g. the change in prediction when the filter is
    nullified) is shown beside it. Returns an ``ipywidgets.VBox``."""
    import ipywidgets as widgets

    best = {} if matches is None else {int(q): row for q, row in matches.groupby("query").head(1).set_index(
        "query").iterrows()}
    by_id = {motif.id: motif for motif in database}
    ranked = sorted(range(len(filters)), key=lambda i: best[i]["q_value"] if i in best else np.inf)

    def label(i: int) -> str:
        motif = filters[i]
        sites = f", {motif.sites} sites" if motif.sites is not None else ""
        return f"{motif.id} ({motif.consensus}{sites})"

    choice = widgets.Dropdown(options=[(label(i), i) for i in ranked], description="filter",
                              layout=widgets.Layout(width="95%"))
    info, image = widgets.HTML(), widgets.Image(format="png")

    def show(_=None) -> None:
        i = choice.value
        hit = best.get(i)
        target = by_id.get(hit["target_id"]) if hit is not None else None
        fig, axes = plt.subplots(1, 2 if target is not None else 1, figsize=(10 if target is not None else 5, 1.8),
                                 squeeze=False)
        plot.logo(filters[i].probs, alphabet=alphabet, ax=axes[0, 0], title=filters[i].id)
        if target is not None:
            plot.logo(target.probs, alphabet=alphabet, ax=axes[0, 1], title=f"{target.name} {target.id}")
        fig.tight_layout()
        image.value = _png(fig)
        if hit is None:
            text = "no database comparison given"
        else:
            verdict = "a match" if hit["q_value"] < 0.05 else "no significant match"
            text = (f"best match <b>{html.escape(str(hit['target_name']))}</b> ({hit['target_id']}), "
                    f"TomTom q = {hit['q_value']:.1e}: {verdict} at q &lt; 0.05")
        if influence is not None and i in influence:
            text += f"; influence {influence[i]:+.3g}"
        info.value = text

    choice.observe(show, names="value")
    show()
    title = widgets.HTML("<b>Filter browser</b>: the learned filters, best-matching first.")
    return widgets.VBox([title, choice, info, image])


def gia_playground(model: torch.nn.Module, background: torch.Tensor, *, pattern: str = "GCTGG",
                   alphabet: str = "DNA", device: str | torch.device = "auto"):
    """Type a pattern and choose its position, number of copies and spacing: the global importance of writing
    them into every ``background`` sequence ``(N, 4, L)`` (:func:`teachbind.interpret.gia.experiment`), with its
    95% interval and the distribution of per-sequence effects. A pattern that does not fit or has a bad letter
    shows why instead. Returns an ``ipywidgets.VBox``."""
    import ipywidgets as widgets

    length = background.shape[-1]
    text = widgets.Text(value=pattern, description="pattern", continuous_update=False)
    position = widgets.IntSlider(value=length // 3, min=0, max=length - 1, description="position",
                                 continuous_update=False)
    copies = widgets.IntSlider(value=1, min=1, max=4, description="copies", continuous_update=False)
    spacing = widgets.IntSlider(value=3, min=0, max=20, description="spacing", continuous_update=False)
    status, image = widgets.HTML(), widgets.Image(format="png")

    def recompute(_=None) -> None:
        candidate = text.value.strip().upper().replace("T", "U") if alphabet == "RNA" else text.value.strip().upper()
        try:
            seq.validate(candidate, alphabet)
            placements = gia.copies_at(candidate, position.value, copies.value, spacing.value)
            effects = gia.global_importance(model, background, gia.embedding(*placements, alphabet=alphabet),
                                            device=device).reshape(len(background))
        except ValueError as error:
            status.value = _error(str(error))
            return
        summary = gia.summarize(effects)
        status.value = (f"global importance <b>{summary['mean']:+.3f}</b> (95% interval {summary['low']:+.3f} to "
                        f"{summary['high']:+.3f}) over {len(effects)} background sequences")
        fig, ax = plt.subplots(figsize=(5, 2.2))
        ax.hist(effects.numpy(), bins=40, color="0.6")
        ax.axvline(summary["mean"], color="C3")
        ax.set(xlabel="effect on the prediction", ylabel="sequences")
        image.value = _png(fig)

    for control in (text, position, copies, spacing):
        control.observe(recompute, names="value")
    recompute()
    title = widgets.HTML("<b>GIA playground</b>: write copies of a pattern into every background sequence and see "
                         "how much the prediction changes on average.")
    return widgets.VBox([title, text, position, copies, spacing, status, image])
