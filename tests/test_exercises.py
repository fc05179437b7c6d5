import json

import numpy as np
import pytest
import torch

from teachbind import motifs, seq
from teachbind.course import exercises


def test_reference_answers_pass(capsys):
    exercises.check_one_hot(lambda s: seq.one_hot(s))
    exercises.check_dinucleotide_shuffle(lambda s, rng: seq.dinucleotide_shuffle(s, seed=rng))
    exercises.check_pwm_scan(lambda s, w: motifs.best_scores(seq.one_hot([s]), w)[0].item())
    assert capsys.readouterr().out.count("✓") == 3


@pytest.mark.parametrize("answer, feedback", [
    (lambda s: seq.one_hot(s).T, "Channels come first"),
    (lambda s: np.where(seq.one_hot(s).numpy() == 0.25, 0, seq.one_hot(s).numpy()), "put 0.25 in each"),
    (lambda s: 1 / 0, "raised ZeroDivisionError"),
])
def test_wrong_one_hot_gets_specific_feedback(answer, feedback):
    with pytest.raises(exercises.ExerciseFailed, match=feedback):
        exercises.check_one_hot(answer)


def test_wrong_shuffles_get_specific_feedback():
    with pytest.raises(exercises.ExerciseFailed, match="shuffles nothing"):
        exercises.check_dinucleotide_shuffle(lambda s, rng: s)
    letter_shuffle = lambda s, rng: "".join(rng.permutation(list(s)))  # noqa: E731
    with pytest.raises(exercises.ExerciseFailed, match="must keep every count of adjacent pairs"):
        exercises.check_dinucleotide_shuffle(letter_shuffle)


def test_forward_strand_scan_is_told_about_the_other_strand():
    forward = lambda s, w: motifs.best_scores(seq.one_hot([s]), w, both_strands=False)[0].item()  # noqa: E731
    with pytest.raises(exercises.ExerciseFailed, match="reverse complement"):
        exercises.check_pwm_scan(forward)


def test_unwritten_stub_is_named():
    def my_one_hot(sequence):
        raise NotImplementedError
    with pytest.raises(exercises.ExerciseFailed, match="my_one_hot is not written yet"):
        exercises.check_one_hot(my_one_hot)


def test_both_strands_check_accepts_the_answer_and_explains_mistakes():
    exercises.check_both_strands(lambda score, x: torch.maximum(score(x), score(x.flip(1, 2))))
    with pytest.raises(exercises.ExerciseFailed, match="forward strand alone"):
        exercises.check_both_strands(lambda score, x: score(x))
    with pytest.raises(exercises.ExerciseFailed, match="did not complement"):
        exercises.check_both_strands(lambda score, x: torch.maximum(score(x), score(x.flip(2))))
    with pytest.raises(exercises.ExerciseFailed, match="mean of the strands"):
        exercises.check_both_strands(lambda score, x: (score(x) + score(x.flip(1, 2))) / 2)


def test_mutation_map_check_accepts_the_answer_and_explains_mistakes():
    from teachbind.interpret import ism

    exercises.check_mutation_map(lambda model, x: ism(model, x[None], device="cpu")[0])
    with pytest.raises(exercises.ExerciseFailed, match="signs are flipped"):
        exercises.check_mutation_map(lambda model, x: -ism(model, x[None], device="cpu")[0])
    with pytest.raises(exercises.ExerciseFailed, match="not written yet"):
        exercises.check_mutation_map(lambda model, x: (_ for _ in ()).throw(NotImplementedError()))


def test_check_function_names_the_input_the_values_and_the_matching_hint(capsys):
    square = lambda x: np.asarray(x) ** 2  # noqa: E731
    cases = [(np.arange(3),), (np.arange(5) - 2,)]
    exercises.check_function(square, square, cases, name="square")
    assert "✓ square: all 2 checks passed" in capsys.readouterr().out
    hints = [exercises.Hint(lambda got, x: np.allclose(got, 2 * x), "You doubled instead of squaring."),
             exercises.Hint(lambda got, x: True, lambda got, x: f"look at {x.tolist()}")]
    with pytest.raises(exercises.ExerciseFailed, match=r"square\(array\(\[0, 1, 2\]\)\): expected \[0.0, 1.0, 4.0\]"
                       r".*got \[0.0, 2.0, 4.0\].*You doubled"):
        exercises.check_function(lambda x: 2 * x, square, cases, name="square", hints=hints)
    with pytest.raises(exercises.ExerciseFailed, match=r"look at \[-2, -1, 0, 1, 2\]"):
        exercises.check_function(lambda x: x ** 2 + (x < 0), square, cases, name="square", hints=hints)
    with pytest.raises(exercises.ExerciseFailed, match=r"has shape \(2,\), expected \(3,\)"):
        exercises.check_function(lambda x: x[:2], square, cases, name="square")


def _flattened_size(length, padding):
    for width, pool in ((19, 3), (11, 4), (7, 4)):
        length = (length - width + 1) // pool if padding == "valid" else -(-length // pool)
    return 200 * length


def _filter_pwm(x, activations, width):
    n, p = torch.nonzero(activations > 0.5 * activations.max(), as_tuple=True)
    counts = torch.stack([x[i, :, j:j + width] for i, j in zip(n.tolist(), p.tolist())]).sum(0)
    return (counts / counts.sum(0)).numpy()


def _influence(model, x, f, square=True):
    model.eval()
    with torch.no_grad():
        before = torch.sigmoid(model(x))
        activations = model.conv[0][:3](x)
        activations[:, f] = activations[:, f].mean()
        after = torch.sigmoid(model.output(model.dense(model.conv[1:](model.conv[0][3](activations)).flatten(1))))
    change = before - after
    return (change ** 2 if square else change).mean(0)


def test_chapter_3_reference_answers_pass(capsys):
    exercises.check_flattened_size(_flattened_size)
    exercises.check_filter_pwm(_filter_pwm)
    exercises.check_filter_influence(_influence)
    assert capsys.readouterr().out.count("✓") == 3


def test_chapter_3_mistakes_get_specific_feedback():
    with pytest.raises(exercises.ExerciseFailed, match="ceil mode"):
        exercises.check_flattened_size(lambda length, padding: 200 * (length // 3 // 4 // 4))
    with pytest.raises(exercises.ExerciseFailed, match="one window per sequence"):
        exercises.check_filter_pwm(lambda x, a, w: motifs.motifs_from_activations(
            x, a[:, None], w, windows="best", pseudocount=0)[0].probs)
    with pytest.raises(exercises.ExerciseFailed, match="Square each sequence's change"):
        exercises.check_filter_influence(lambda model, x, f: _influence(model, x, f, square=False))


def test_spacing_check_accepts_the_answer_and_explains_mistakes():
    from teachbind.interpret import gia

    def answer(model, x, pattern, position, spacings, start_to_start=False, against_one=False):
        before = gia.global_importance(model, x, gia.embedding((pattern, position), alphabet="RNA"), device="cpu").mean()
        out = []
        for s in spacings:
            second = position + s if start_to_start else position + len(pattern) + s
            effect = gia.global_importance(model, x, gia.embedding((pattern, position), (pattern, second), alphabet="RNA"),
                                           device="cpu").mean()
            out.append(float(effect - before) if against_one else float(effect))
        return out

    exercises.check_spacing_effects(answer)
    with pytest.raises(exercises.ExerciseFailed, match="holds the first copy"):
        exercises.check_spacing_effects(lambda *a: answer(*a, against_one=True))
    with pytest.raises(exercises.ExerciseFailed, match="expected"):
        exercises.check_spacing_effects(lambda *a: answer(*a, start_to_start=True))


def test_profile_background_check_accepts_the_answer_and_explains_mistakes():
    def answer(x, n, rng):
        freq = x.mean(0).numpy()
        letters = np.stack([rng.choice(4, size=n, p=freq[:, j] / freq[:, j].sum()) for j in range(x.shape[2])], 1)
        return torch.nn.functional.one_hot(torch.from_numpy(letters), 4).permute(0, 2, 1).float()

    exercises.check_profile_background(answer)

    def pooled(x, n, rng):
        freq = x.mean((0, 2)).numpy()
        letters = rng.choice(4, size=(n, x.shape[2]), p=freq / freq.sum())
        return torch.nn.functional.one_hot(torch.from_numpy(letters), 4).permute(0, 2, 1).float()

    with pytest.raises(exercises.ExerciseFailed, match="overall composition"):
        exercises.check_profile_background(pooled)
    with pytest.raises(exercises.ExerciseFailed, match="copies of the input"):
        exercises.check_profile_background(lambda x, n, rng: x[rng.integers(0, len(x), n)])


def test_cd1_check_accepts_the_answer_and_explains_mistakes():
    def answer(weight, b, c, v, h, use_samples=False, per_row=False):
        p0 = torch.sigmoid(v @ weight.T + c)
        v1 = torch.sigmoid(h @ weight + b)
        p1 = torch.sigmoid(v1 @ weight.T + c)
        if use_samples:
            p0 = h
        d_weight = (p0.T @ v - p1.T @ v1) / (1 if per_row else len(v))
        return d_weight, (v - v1).mean(0), (p0 - p1).mean(0)

    exercises.check_cd1_step(answer)
    with pytest.raises(exercises.ExerciseFailed, match="Divide by the number of rows") as per_row:
        exercises.check_cd1_step(lambda *a: answer(*a, per_row=True))
    assert "p(h|v)" not in str(per_row.value)
    with pytest.raises(exercises.ExerciseFailed, match="probabilities p\\(h\\|v\\)"):
        exercises.check_cd1_step(lambda *a: answer(*a, use_samples=True))


def test_late_fusion_check_accepts_the_answer_and_explains_mistakes():
    class Fusion(torch.nn.Module):
        def __init__(self, subnets, register=True):
            super().__init__()
            self.subnets = torch.nn.ModuleDict(subnets) if register else dict(subnets)
            self.out = torch.nn.Linear(sum(n.out_features for n in subnets.values()), 1)

        def forward(self, x):
            return self.out(torch.cat([net(x[name]) for name, net in self.subnets.items()], 1)).squeeze(1)

    exercises.check_late_fusion(Fusion)
    with pytest.raises(exercises.ExerciseFailed, match="register them"):
        exercises.check_late_fusion(lambda subnets: Fusion(subnets, register=False))

    class Unsqueezed(Fusion):
        def forward(self, x):
            return super().forward(x).unsqueeze(1)

    with pytest.raises(exercises.ExerciseFailed, match="expected \\(3,\\)"):
        exercises.check_late_fusion(Unsqueezed)


class _Fusion(torch.nn.Module):
    def __init__(self, subnets, register=True, unsqueeze=False):
        super().__init__()
        self.subnets = torch.nn.ModuleDict(subnets) if register else dict(subnets)
        self.out = torch.nn.Linear(sum(n.out_features for n in subnets.values()), 1)
        self.unsqueeze = unsqueeze

    def forward(self, x):
        out = self.out(torch.cat([net(x[name]) for name, net in self.subnets.items()], 1))
        return out if self.unsqueeze else out.squeeze(1)


def _letter_shuffle(s, rng):
    return "".join(rng.permutation(list(s)))


def _stub(*args):
    raise NotImplementedError


@pytest.mark.parametrize("check, answer", [
    (exercises.check_one_hot, lambda s: seq.one_hot(s)),
    (exercises.check_one_hot, lambda s: seq.one_hot(s).T),
    (exercises.check_one_hot, _stub),
    (exercises.check_one_hot, lambda s: "ACGT"),
    (exercises.check_dinucleotide_shuffle, _letter_shuffle),
    (exercises.check_dinucleotide_shuffle, lambda s, rng: s),
    (exercises.check_pwm_scan, lambda s, w: motifs.best_scores(seq.one_hot([s]), w, both_strands=False)[0].item()),
    (exercises.check_both_strands, lambda score, x: (score(x) + score(x.flip(1, 2))) / 2),
    (exercises.check_both_strands, lambda score, x: torch.maximum(score(x), score(x.flip(1, 2)))),
    (exercises.check_late_fusion, _Fusion),
    (exercises.check_late_fusion, lambda subnets: _Fusion(subnets, register=False)),
    (exercises.check_late_fusion, lambda subnets: _Fusion(subnets, unsqueeze=True)),
    (exercises.check_late_fusion, lambda subnets: "not a model"),
], ids=lambda v: getattr(v, "__name__", "answer"))
def test_judged_outside_the_check_says_what_it_says_in_the_notebook(check, answer, capsys):
    """What the grader does, observe in the sandbox and judge outside on the JSON that comes back, gives the very
    verdict and message of the check called in a notebook."""
    try:
        check(answer)
        direct = (True, capsys.readouterr().out.strip().splitlines()[-1])
    except exercises.ExerciseFailed as failure:
        direct = (False, str(failure))
    observed = json.loads(json.dumps(exercises.observe(check, answer)))
    assert exercises.judge(check, observed) == direct


def test_a_forged_observation_cannot_pass_or_break_the_judge():
    assert exercises.judge(exercises.check_one_hot, {"answer": "f", "calls": []}) == (
        False, "the check could not finish: the run recorded 0 results of f, and the check needs more (did the "
               "kernel stop during the check?)")
    ok, message = exercises.judge(exercises.check_one_hot, {"answer": "f", "calls": [{"pickle": "gASV"}]})
    assert not ok and "unexpected 'pickle'" in message
    assert exercises.judge(exercises.check_one_hot, "✓") == (False, "the run returned no readable result for this "
                                                                   "check")


def test_the_receptive_field_check_accepts_the_formula_and_names_each_mistake():
    exercises.check_receptive_field(lambda widths, dilations: 1 + sum((w - 1) * d for w, d in zip(widths, dilations)))
    for answer, feedback in [(lambda widths, dilations: 1 + sum(w - 1 for w in widths), "ignores the dilations"),
                             (lambda widths, dilations: sum((w - 1) * d for w, d in zip(widths, dilations)),
                              "the output position itself counts"),
                             (lambda widths, dilations: sum(w * d for w, d in zip(widths, dilations)), "Too wide")]:
        with pytest.raises(exercises.ExerciseFailed, match=feedback):
            exercises.check_receptive_field(answer)


def test_the_allpool_check_accepts_max_then_mean_and_names_each_mistake():
    exercises.check_allpool(lambda r: torch.cat([r.amax(-1), r.mean(-1)], dim=1))
    for answer, feedback in [(lambda r: r.amax(-1), "one number per detector"),
                             (lambda r: torch.stack([r.amax(-1), r.mean(-1)], 2).reshape(len(r), -1), "interleaved"),
                             (lambda r: torch.cat([r.mean(-1), r.amax(-1)], dim=1), "The means come first"),
                             (lambda r: torch.cat([r.amax(1), r.mean(1)], dim=1), "pool over the positions")]:
        with pytest.raises(exercises.ExerciseFailed, match=feedback):
            exercises.check_allpool(answer)


def test_the_pair_auroc_check_accepts_the_count_and_names_each_mistake():
    def counted(labels, scores, tie=0.5):
        labels, scores = np.asarray(labels), np.asarray(scores, dtype=float)
        difference = scores[labels == 1][:, None] - scores[labels == 0][None, :]
        return float(((difference > 0) + tie * (difference == 0)).mean())

    exercises.check_pair_auroc(counted)
    for answer, feedback in [(lambda y, s: counted(y, s, tie=0), "Ties are missing"),
                             (lambda y, s: counted(y, s, tie=1), "not one"),
                             (lambda y, s: 1 - counted(y, s), "Reversed")]:
        with pytest.raises(exercises.ExerciseFailed, match=feedback):
            exercises.check_pair_auroc(answer)


def test_the_shift_check_accepts_a_zero_filled_shift_and_names_each_mistake():
    exercises.check_shift(exercises._shifted)
    for answer, feedback in [(lambda x, d: torch.roll(x, d, dims=-1), "a roll"),
                             (lambda x, d: exercises._shifted(x, -d), "The wrong way"),
                             (lambda x, d: x[..., max(d, 0):], "has shape")]:
        with pytest.raises(exercises.ExerciseFailed, match=feedback):
            exercises.check_shift(answer)


def test_the_presence_auroc_check_accepts_the_missingness_score_and_names_each_mistake():
    from teachbind import metrics

    exercises.check_presence_auroc(lambda s, y: metrics.auroc(y, (s != 0).any(axis=1).astype(float)))
    for answer, feedback in [(lambda s, y: metrics.auroc(y, s.mean(axis=1)), "mean paired probability"),
                             (lambda s, y: metrics.auroc(y, (s == 0).all(axis=1).astype(float)), "Reversed")]:
        with pytest.raises(exercises.ExerciseFailed, match=feedback):
            exercises.check_presence_auroc(answer)


def test_the_information_content_check_accepts_bits_and_names_each_mistake():
    def bits(p, zero=True):
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = p * np.log2(p)
        return 2 + (np.nan_to_num(terms) if zero else terms).sum(0)

    exercises.check_information_content(bits)
    for answer, feedback in [(lambda p: bits(p, zero=False), "0 · log 0"),
                             (lambda p: bits(p) * np.log(2), "nats"),
                             (lambda p: 2 - bits(p), "entropy"),
                             (lambda p: bits(p).sum(), "has shape")]:
        with pytest.raises(exercises.ExerciseFailed, match=feedback):
            exercises.check_information_content(answer)


def test_the_chosen_on_training_check_wants_the_test_auroc_of_the_training_winner():
    from teachbind import metrics

    def aurocs(scores, labels):
        return np.array([metrics.auroc(labels, row) for row in scores])

    exercises.check_chosen_on_training(lambda s, y, t, z: aurocs(t, z)[aurocs(s, y).argmax()])
    for answer, feedback in [(lambda s, y, t, z: aurocs(t, z).max(), "chooses the candidate on the test set"),
                             (lambda s, y, t, z: aurocs(s, y).max(), "training AUROC: report"),
                             (lambda s, y, t, z: aurocs(t, z).mean(), "expected")]:
        with pytest.raises(exercises.ExerciseFailed, match=feedback):
            exercises.check_chosen_on_training(answer)


def test_the_pad_check_wants_any_base_on_both_ends():
    exercises.check_pad(lambda x, w: torch.nn.functional.pad(x, (w - 1, w - 1), value=0.25))
    for answer, feedback in [(lambda x, w: torch.nn.functional.pad(x, (w - 1, w - 1)), "0.25 in every channel"),
                             (lambda x, w: torch.nn.functional.pad(x, (w - 1, 0), value=0.25), "has shape")]:
        with pytest.raises(exercises.ExerciseFailed, match=feedback):
            exercises.check_pad(answer)


class _Scanner(torch.nn.Module):
    def __init__(self, squeeze=True, pool="max"):
        super().__init__()
        self.conv, self.linear, self.squeeze, self.pool = torch.nn.Conv1d(4, 16, 15), torch.nn.Linear(16, 1), squeeze, pool

    def forward(self, x):
        scan = torch.relu(self.conv(x))
        pooled = scan.amax(-1) if self.pool == "max" else scan[..., :1].flatten(1)
        out = self.linear(pooled)
        return out.squeeze(1) if self.squeeze else out


def test_the_small_model_check_trains_the_students_model_and_fails_one_that_cannot_learn():
    exercises.check_small_model(_Scanner)
    for answer, feedback in [(lambda: _Scanner(squeeze=False), "squeeze"),
                             (lambda: _Scanner(pool="first window"), "not yet 0.9"),
                             (lambda: "a model", "return an nn.Module")]:
        with pytest.raises(exercises.ExerciseFailed, match=feedback):
            exercises.check_small_model(answer)


@pytest.mark.parametrize("seed", range(5))
def test_deepbinds_design_learns_the_planted_task_over_seeds(seed):
    """The measured spread behind check_small_model's threshold of 0.9."""
    torch.manual_seed(seed)
    assert exercises.train_planted(_Scanner(), seed=seed) >= 0.97


def test_the_average_precision_check_accepts_sklearns_definition_and_names_each_mistake():
    def average_precision(labels, scores):
        order = np.argsort(-np.asarray(scores, float), kind="stable")
        labels, scores = np.asarray(labels)[order], np.asarray(scores, float)[order]
        total = 0.0
        for i in np.flatnonzero(labels):
            above = scores >= scores[i]
            total += labels[above].sum() / above.sum()
        return total / labels.sum()

    from teachbind import metrics

    exercises.check_average_precision(average_precision)
    for answer, feedback in [(metrics.auroc, "That is the AUROC"),
                             (lambda y, s: average_precision(y, -np.asarray(s, float)), "Reversed")]:
        with pytest.raises(exercises.ExerciseFailed, match=feedback):
            exercises.check_average_precision(answer)


def test_the_permutation_importance_check_wants_intact_minus_shuffled_windows():
    from teachbind import metrics
    from teachbind.models.ideep import Modalities

    def scores(model, x):
        with torch.no_grad():
            return model(x).numpy()

    def importance(model, x, labels, modality, rng, shuffle_letters=False, sign=1, drop=True):
        order = torch.as_tensor(rng.permutation(len(x)))
        shuffled = x[modality][order] if not shuffle_letters else x[modality][..., torch.randperm(x[modality].shape[-1])]
        after = metrics.auroc(labels, scores(model, Modalities(**{**x.tensors, modality: shuffled})))
        return sign * (metrics.auroc(labels, scores(model, x)) - after) if drop else after

    exercises.check_permutation_importance(importance)
    for answer, feedback in [(lambda *a: importance(*a, drop=False), "That is the AUROC after the shuffle"),
                             (lambda *a: importance(*a, sign=-1), "The sign is reversed")]:
        with pytest.raises(exercises.ExerciseFailed, match=feedback):
            exercises.check_permutation_importance(answer)


def test_the_hairpin_check_wants_the_reverse_complement_arm():
    complement = str.maketrans("ACGU", "UGCA")
    exercises.check_hairpin(lambda stem, loop: stem + loop + stem.translate(complement)[::-1])
    for answer, feedback in [(lambda stem, loop: stem + loop + stem.translate(complement), "reverse it too"),
                             (lambda stem, loop: stem + loop + stem[::-1], "reversed but not complemented")]:
        with pytest.raises(exercises.ExerciseFailed, match=feedback):
            exercises.check_hairpin(answer)


def test_the_centred_pair_check_keeps_the_pair_centred():
    def centred(length, width, spacing):
        first = (length - 2 * width - spacing) // 2
        return first, first + width + spacing

    exercises.check_centred_pair(centred)
    for answer, feedback in [(lambda n, w, s: ((n - 2 * w) // 2, (n - 2 * w) // 2 + w + s), "The first copy stays"),
                             (lambda n, w, s: ((n - w - s) // 2, (n - w - s) // 2 + s), "not from start")]:
        with pytest.raises(exercises.ExerciseFailed, match=feedback):
            exercises.check_centred_pair(answer)


def test_the_global_importance_check_wants_the_mean_effect_over_the_backgrounds():
    from teachbind.interpret import gia

    def effect(model, background, pattern, position, subtract=True, mean=True):
        embedded = gia.embedding((pattern, position), alphabet="RNA")(background)
        with torch.no_grad():
            change = model(embedded) - (model(background) if subtract else 0)
        return float(change.mean()) if mean else change.squeeze(1)

    exercises.check_global_importance(effect)
    for answer, feedback in [(lambda *a: effect(*a, subtract=False), "subtract the prediction"),
                             (lambda *a: effect(*a, mean=False), "has shape")]:
        with pytest.raises(exercises.ExerciseFailed, match=feedback):
            exercises.check_global_importance(answer)


def _permutation_importance(model, x, labels, modality, rng):
    from teachbind import metrics
    from teachbind.models.ideep import Modalities

    shuffled = Modalities(**{**x.tensors, modality: x[modality][torch.as_tensor(rng.permutation(len(x)))]})
    with torch.no_grad():
        return metrics.auroc(labels, model(x).numpy()) - metrics.auroc(labels, model(shuffled).numpy())


@pytest.mark.parametrize("check, answer", [
    (exercises.check_small_model, _Scanner),
    (exercises.check_small_model, lambda: _Scanner(squeeze=False)),
    (exercises.check_small_model, lambda: _Scanner(pool="first window")),
    (exercises.check_permutation_importance, _permutation_importance),
    (exercises.check_permutation_importance, lambda *a: -_permutation_importance(*a)),
    (exercises.check_hairpin, lambda stem, loop: stem + loop + stem[::-1]),
    (exercises.check_centred_pair, lambda n, w, s: ((n - 2 * w - s) // 2, (n - 2 * w - s) // 2 + w + s)),
    (exercises.check_information_content, lambda p: 2 - 0 * p.sum(0)),
], ids=lambda v: getattr(v, "__name__", "answer"))
def test_the_new_checks_judge_outside_the_sandbox_as_they_do_in_the_notebook(check, answer, capsys):
    test_judged_outside_the_check_says_what_it_says_in_the_notebook(check, answer, capsys)


def _bce(logits, labels):
    return (labels * torch.nn.functional.softplus(-logits) + (1 - labels) * torch.nn.functional.softplus(logits)).mean()


def _naive_bce(logits, labels):
    p = torch.sigmoid(logits)
    return -(labels * torch.log(p) + (1 - labels) * torch.log(1 - p)).mean()


def test_the_bce_check_wants_the_mean_loss_written_in_the_logit():
    exercises.check_bce_with_logits(_bce)
    with pytest.raises(exercises.ExerciseFailed, match="softplus"):
        exercises.check_bce_with_logits(_naive_bce)
    with pytest.raises(exercises.ExerciseFailed, match="sum over the batch"):
        exercises.check_bce_with_logits(lambda z, y: _bce(z, y) * len(z))
    with pytest.raises(exercises.ExerciseFailed, match="labels are swapped"):
        exercises.check_bce_with_logits(lambda z, y: _bce(-z, y))


def _epoch(model, x, y, optimizer, batch_size, order, *, zero=True, weighted=True):
    total = 0.0
    for start in range(0, len(x), batch_size):
        batch = order[start:start + batch_size]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x[batch]).squeeze(-1), y[batch])
        if zero:
            optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * (len(batch) if weighted else 1)
    return total / (len(x) if weighted else -(-len(x) // batch_size))


def test_the_epoch_check_trains_the_students_loop_and_names_each_mistake():
    exercises.check_train_one_epoch(_epoch)
    with pytest.raises(exercises.ExerciseFailed, match="zero_grad"):
        exercises.check_train_one_epoch(lambda *a: _epoch(*a, zero=False))
    with pytest.raises(exercises.ExerciseFailed, match="weight each by its batch's size"):
        exercises.check_train_one_epoch(lambda *a: _epoch(*a, weighted=False))
    with pytest.raises(exercises.ExerciseFailed, match="did not change"):
        exercises.check_train_one_epoch(lambda model, x, y, optimizer, batch_size, order: 0.5)


def _group_split(groups, fraction, rng):
    held_out = []
    for group in rng.permutation(np.unique(groups)):
        if np.isin(groups, held_out).sum() >= fraction * len(groups):
            break
        held_out.append(group)
    test = np.isin(groups, held_out)
    return np.flatnonzero(~test), np.flatnonzero(test)


def test_the_group_split_check_wants_whole_groups_held_out():
    exercises.check_group_split(_group_split)
    with pytest.raises(exercises.ExerciseFailed, match="has examples in both train and test"):
        exercises.check_group_split(lambda g, f, rng: (lambda order: (order[int(f * len(g)) + 1:],
                                                                      order[:int(f * len(g)) + 1]))(
            rng.permutation(len(g))))
    with pytest.raises(exercises.ExerciseFailed, match="exactly once"):
        exercises.check_group_split(lambda g, f, rng: (np.arange(len(g)), np.arange(len(g))))


def _roc_points(labels, scores):
    thresholds = np.unique(scores)[::-1]
    tpr = [0.0] + [((scores >= t) & (labels == 1)).sum() / (labels == 1).sum() for t in thresholds]
    fpr = [0.0] + [((scores >= t) & (labels == 0)).sum() / (labels == 0).sum() for t in thresholds]
    return np.array(fpr), np.array(tpr)


def _roc_per_sequence(labels, scores):
    ranked = labels[np.argsort(-scores, kind="stable")]
    return (np.r_[0, np.cumsum(ranked == 0) / (ranked == 0).sum()],
            np.r_[0, np.cumsum(ranked == 1) / (ranked == 1).sum()])


def test_the_roc_check_wants_one_point_per_distinct_score():
    exercises.check_roc_points(_roc_points)
    with pytest.raises(exercises.ExerciseFailed, match="Tied scores must enter together"):
        exercises.check_roc_points(_roc_per_sequence)
    with pytest.raises(exercises.ExerciseFailed, match="from \\(0, 0\\)"):
        exercises.check_roc_points(lambda y, s: tuple(part[1:] for part in _roc_points(y, s)))


def _bootstrap_interval(labels, scores, n, rng, *, replace=True, paired=True):
    from teachbind import metrics

    values = []
    for _ in range(n):
        rows = rng.choice(len(labels), len(labels), replace=replace)
        values.append(metrics.auroc(labels[rows], scores[rows if paired else rng.permutation(len(labels))]))
    return tuple(np.quantile(values, [0.025, 0.975]))


def test_the_bootstrap_check_wants_pairs_resampled_with_replacement():
    exercises.check_bootstrap_interval(_bootstrap_interval)
    with pytest.raises(exercises.ExerciseFailed, match="no width"):
        exercises.check_bootstrap_interval(lambda *a: _bootstrap_interval(*a, replace=False))
    with pytest.raises(exercises.ExerciseFailed, match="Resample \\(label, score\\) pairs together"):
        exercises.check_bootstrap_interval(lambda *a: _bootstrap_interval(*a, paired=False))


def _early_stopping(losses, patience):
    best, waited = 0, 0
    for epoch in range(1, len(losses)):
        if losses[epoch] < losses[best]:
            best, waited = epoch, 0
        else:
            waited += 1
        if waited >= patience:
            return epoch + 1, best + 1
    return len(losses), best + 1


def test_the_early_stopping_check_counts_patience_from_the_best_epoch():
    exercises.check_early_stopping(_early_stopping)
    with pytest.raises(exercises.ExerciseFailed, match="best epoch, not the last"):
        exercises.check_early_stopping(lambda losses, p: (_early_stopping(losses, p)[0], len(losses)))
    with pytest.raises(exercises.ExerciseFailed, match="Count epochs from 1"):
        exercises.check_early_stopping(lambda losses, p: (_early_stopping(losses, p)[0] - 1,
                                                          _early_stopping(losses, p)[1] - 1))


@pytest.mark.parametrize("check, answer", [
    (exercises.check_bce_with_logits, _naive_bce),
    (exercises.check_train_one_epoch, _epoch),
    (exercises.check_train_one_epoch, lambda *a: _epoch(*a, zero=False)),
    (exercises.check_group_split, _group_split),
    (exercises.check_roc_points, _roc_per_sequence),
    (exercises.check_bootstrap_interval, _bootstrap_interval),
    (exercises.check_early_stopping, _early_stopping),
], ids=lambda v: getattr(v, "__name__", "answer"))
def test_chapter_2_checks_judge_outside_the_sandbox_as_they_do_in_the_notebook(check, answer, capsys):
    test_judged_outside_the_check_says_what_it_says_in_the_notebook(check, answer, capsys)


def _integrated_gradients(model, x, reference, steps):
    total = torch.zeros_like(x)
    for k in range(steps):
        point = (reference + (k + 0.5) / steps * (x - reference)).requires_grad_(True)
        total += torch.autograd.grad(model(point).sum(), point)[0]
    return (x - reference) * total / steps


def _site_auroc(attributions, x, mask, letter_present=True):
    from teachbind import metrics

    per_position = (attributions * x if letter_present else attributions).sum(dim=1)
    return metrics.auroc(np.asarray(mask).ravel(), per_position.numpy().ravel())


def _seqlets(scores, threshold, min_length, exclusive=True):
    runs, start = [], None
    for i, above in enumerate(list(np.asarray(scores) >= threshold) + [False]):
        if above and start is None:
            start = i
        elif not above and start is not None:
            if i - start >= min_length:
                runs.append((start, i if exclusive else i - 1))
            start = None
    return runs


def _variant_effect(model, x, position, letter, copy=True):
    alternative = x.clone() if copy else x
    before = model(x).reshape(len(x)).detach().clone()
    alternative[:, :, position] = 0
    alternative[:, letter, position] = 1
    with torch.no_grad():
        return model(alternative).reshape(len(x)) - before


def _completeness_gap(model, x, attributions, references, all_references=True):
    references = references if all_references else references[:, :1]
    n, r = references.shape[:2]
    with torch.no_grad():
        mean = model(references.reshape(n * r, *x.shape[1:])).reshape(n, r).mean(dim=1)
        return attributions.sum(dim=(1, 2)) - (model(x).reshape(n) - mean)


def test_the_chapter_7_checks_accept_the_answers_and_name_each_mistake():
    exercises.check_corrected_gradient(lambda g: g - g.mean(dim=1, keepdim=True))
    exercises.check_integrated_gradients(_integrated_gradients)
    exercises.check_site_auroc(_site_auroc)
    exercises.check_seqlets(_seqlets)
    exercises.check_variant_effect(_variant_effect)
    exercises.check_completeness_gap(_completeness_gap)
    mistakes = [
        (exercises.check_corrected_gradient, lambda g: g - g.mean(dim=2, keepdim=True), "mean over positions"),
        (exercises.check_corrected_gradient, lambda g: g.mean(dim=1, keepdim=True).expand_as(g), "part to remove"),
        (exercises.check_integrated_gradients, lambda m, x, r, s: _integrated_gradients(m, x, r, 1), "midpoints"),
        (exercises.check_site_auroc, lambda *a: _site_auroc(*a, letter_present=False), "letter present"),
        (exercises.check_seqlets, lambda *a: _seqlets(*a, exclusive=False), "exclusive"),
        (exercises.check_variant_effect, lambda *a: -_variant_effect(*a), "signs are flipped"),
        (exercises.check_variant_effect, lambda *a: _variant_effect(*a, copy=False), "work on a copy"),
        (exercises.check_completeness_gap, lambda *a: _completeness_gap(*a, all_references=False), "all R references"),
    ]
    for check, answer, feedback in mistakes:
        with pytest.raises(exercises.ExerciseFailed, match=feedback):
            check(answer)


@pytest.mark.parametrize("check, answer", [
    (exercises.check_integrated_gradients, _integrated_gradients),
    (exercises.check_seqlets, lambda *a: _seqlets(*a, exclusive=False)),
    (exercises.check_variant_effect, lambda *a: _variant_effect(*a, copy=False)),
    (exercises.check_completeness_gap, _completeness_gap),
], ids=lambda v: getattr(v, "__name__", "answer"))
def test_chapter_7_checks_judge_outside_the_sandbox_as_they_do_in_the_notebook(check, answer, capsys):
    test_judged_outside_the_check_says_what_it_says_in_the_notebook(check, answer, capsys)
