"""Checks for the book's exercises: run a student's function on generated cases and say exactly what is wrong.
Every chapter's exercises call them, from Chapter 1 (``nbs/01_sequences.ipynb``) on.

Each ``check_*`` function takes the student's function, compares it with the package's reference on a set of
cases, prints a line when every case passes, and otherwise raises :class:`ExerciseFailed` naming the input, the
expected and the actual output, and a hint. :func:`check_function` with :class:`Hint` is the engine most of them
use and the way to write a new one (the book's course page shows how).

The grader splits a check in two (:func:`observe`, :func:`judge`): in the sandbox the student's function runs on the
check's cases and only its results come back, as plain data; outside, the same check runs again on those results,
with the package's own references, and its ✓ line or message is the grade. A check whose student function returns
something other than plain values (a model, say) reads it through a probe (:func:`reads_through`).
"""

from __future__ import annotations

import functools
import re
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from teachbind import motifs, seq
from teachbind.course.grading import exchange
from teachbind.interpret import filter_influence, ism
from teachbind.models import Basset, DeepBind


class ExerciseFailed(AssertionError):
    """A student's answer gave a wrong result; the message says on which input and why."""


def _as_array(value) -> np.ndarray:
    if torch.is_tensor(value):
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ExerciseFailed(f"the answer returned {_kind_of(value)}, where numbers (an array or a tensor) were "
                             f"expected") from None


def _kind_of(value) -> str:
    if isinstance(value, str) and len(value) <= 20:
        return repr(value)
    return f"a {value.type_name if isinstance(value, exchange.Opaque) else type(value).__name__}"


def _call(fn: Callable, description: str, *args):
    try:
        return fn(*args)
    except NotImplementedError:
        raise ExerciseFailed(f"{fn.__name__} is not written yet (it raised NotImplementedError)") from None
    except Exception as err:
        raise ExerciseFailed(f"{fn.__name__}({description}) raised {type(err).__name__}: {err}") from None


_verdicts = threading.local()


def _passed(name: str, n: int) -> None:
    line = f"✓ {name}: all {n} checks passed"
    if getattr(_verdicts, "lines", None) is not None:
        _verdicts.lines.append(line)
    else:
        print(line)


def _close(got, expected, atol: float = 1e-4) -> bool:
    got, expected = _as_array(got), _as_array(expected)
    return got.shape == expected.shape and np.allclose(got, expected, atol=atol)


@dataclass(frozen=True)
class Hint:
    """Advice for one typical mistake: ``text`` (or ``text(got, *case)``) is shown when ``applies(got, *case)``."""

    applies: Callable[..., bool]
    text: str | Callable[..., str]


def reads_through(probe: Callable[[Callable], Callable]):
    """Mark a check that reads the student's answer only through ``probe(answer)``, a function whose calls return
    plain values (numbers, strings, arrays, dicts of them). The decorated check takes the answer itself; the grader
    records the probe's results in the sandbox and judges them outside it (:func:`observe`, :func:`judge`).

    A check whose answer already returns plain values needs no probe.
    """
    def mark(check: Callable) -> Callable:
        @functools.wraps(check)
        def run(answer, *args, **kwargs):
            return check(probe(answer), *args, **kwargs)

        run.judged, run.probe = check, probe
        return run

    return mark


class _Recorder:
    """The answer, called as usual, with each result (or what it raised) kept in the exchange's plain form."""

    def __init__(self, answer: Callable):
        self.answer, self.calls = answer, []
        self.__name__ = str(getattr(answer, "__name__", type(answer).__name__))

    def __call__(self, *args):
        try:
            value = self.answer(*args)
        except Exception as error:
            self.calls.append(exchange.encode(error))
            raise
        self.calls.append(exchange.encode(value))
        return value


class _Unfinished(BaseException):
    """The check asked for more results than the sandboxed run recorded."""


class _Replay:
    """Stands for the answer outside the sandbox: each call returns (or raises) the next recorded result."""

    def __init__(self, name: str, calls: list):
        self.__name__ = re.sub(r"[^\w.]", "_", name)[:80] or "answer"
        self.values, self.position = [exchange.decode(call) for call in calls], 0

    def __call__(self, *args):
        if self.position >= len(self.values):
            n = len(self.values)
            raise _Unfinished(f"the run recorded {n} result{'s' * (n != 1)} of {self.__name__}, and the check needs "
                              f"more (did the kernel stop during the check?)")
        value = self.values[self.position]
        self.position += 1
        if isinstance(value, exchange.Raised):
            kind = NotImplementedError if value.type_name == "NotImplementedError" else type(
                re.sub(r"\W", "_", value.type_name) or "Error", (Exception,), {})
            raise kind(str(value))
        return value


def _parts(check: Callable) -> tuple[Callable, Callable]:
    return getattr(check, "judged", check), getattr(check, "probe", lambda answer: answer)


def observe(check: Callable, answer: Callable, *args, **kwargs) -> dict:
    """Run ``check`` on ``answer`` and return what the answer gave, as plain data for :func:`judge`:
    ``{"answer": name, "calls": [...]}``. The grader runs this inside the sandbox; the verdict there is ignored."""
    judged, probe = _parts(check)
    recorder = _Recorder(probe(answer))
    try:
        judged(recorder, *args, **kwargs)
    except Exception:
        pass
    return {"answer": recorder.__name__, "calls": recorder.calls}


_judging = threading.Lock()  # checks seed torch's global generator: one judge at a time


def judge(check: Callable, observed: dict, *args, **kwargs) -> tuple[bool, str]:
    """Judge what :func:`observe` recorded, here, with the package's own references: ``(passed, message)``, the
    message being the check's ✓ line or the :class:`ExerciseFailed` text."""
    judged, _ = _parts(check)
    if not (isinstance(observed, dict) and isinstance(observed.get("answer"), str)
            and isinstance(observed.get("calls"), list)):
        return False, "the run returned no readable result for this check"
    with _judging:
        _verdicts.lines = []
        try:
            judged(_Replay(observed["answer"], observed["calls"]), *args, **kwargs)
        except ExerciseFailed as failure:
            return False, str(failure)
        except (_Unfinished, exchange.ExchangeError) as error:
            return False, f"the check could not finish: {error}"
        except Exception as error:
            return False, f"the check could not read the answer's result ({type(error).__name__}: {error})"
        finally:
            lines, _verdicts.lines = _verdicts.lines, None
    return True, lines[-1] if lines else "✓ passed"


def check_function(fn: Callable, reference: Callable, cases: list[tuple], *, name: str,
                   describe: Callable[..., str] | None = None, atol: float = 1e-4, hints: list[Hint] = ()) -> None:
    """Run ``fn(*case)`` and ``reference(*case)`` on every case and compare them (shape, then values to ``atol``).

    The first case that differs raises :class:`ExerciseFailed` naming the input (``describe(*case)``), the
    expected and the actual output, and the first hint whose ``applies(got, *case)`` is true. Prints one ✓ line
    when all cases agree. Outputs may be numbers, arrays or tensors.
    """
    describe = describe or (lambda *case: ", ".join(repr(arg) for arg in case))
    for case in cases:
        description = describe(*case)
        got = _call(fn, description, *case)
        expected = _as_array(reference(*case))
        got_array = _as_array(got)
        if got_array.shape != expected.shape:
            raise ExerciseFailed(f"{name}({description}) has shape {got_array.shape}, expected {expected.shape}")
        if not np.allclose(got_array, expected, atol=atol):
            advice = next((h.text for h in hints if h.applies(got, *case)), "")
            if callable(advice):
                advice = advice(got, *case)
            raise ExerciseFailed(f"{name}({description}): expected {_preview(expected)}, got {_preview(got_array)}."
                                 f"{' ' + advice if advice else ''}")
    _passed(name, len(cases))


def _preview(values: np.ndarray) -> str:
    if values.ndim == 0:
        return f"{float(values):.4f}"
    flat = np.round(values.ravel(), 4).tolist()
    return f"{flat[:3]}{'...' if len(flat) > 3 else ''} (shape {values.shape})"


def check_one_hot(fn: Callable[[str], object]) -> None:
    """Check ``fn(sequence) -> array (4, L)``: channels A, C, G, T; N is 0.25 everywhere; lowercase accepted."""
    cases = ["A", "ACGT", "TTGCA", "acgt", "ACNGT", "GATTACA" * 3]
    for case in cases:
        got = _as_array(_call(fn, repr(case), case))
        expected = seq.one_hot(case).numpy()
        if got.shape != expected.shape:
            hint = " Channels come first: transpose to (4, L)." if got.shape == expected.shape[::-1] else ""
            raise ExerciseFailed(f"one_hot({case!r}) has shape {got.shape}, expected {expected.shape}.{hint}")
        if not np.allclose(got, expected):
            column = int(np.flatnonzero(~np.isclose(got, expected).all(axis=0))[0])
            hint = ""
            if case[column] == "N":
                hint = " N means 'any base': put 0.25 in each of the four channels."
            elif case[column].islower():
                hint = " Lowercase letters (soft-masked repeats) are the same bases: upper-case first."
            raise ExerciseFailed(
                f"one_hot({case!r}) is wrong at position {column} (letter {case[column]!r}): expected column "
                f"{expected[:, column].tolist()}, got {got[:, column].tolist()}.{hint}"
            )
    _passed("one_hot", len(cases))


def check_dinucleotide_shuffle(fn: Callable[[str, np.random.Generator], str]) -> None:
    """Check ``fn(sequence, rng) -> str``: same length and dinucleotide counts, and actually random."""
    rng = np.random.default_rng(0)
    cases = ["AAAAAAAA", "ACGTACGTAC"] + ["".join(rng.choice(list("ACGT"), n)) for n in (20, 60, 101)]
    for case in cases:
        got = _call(fn, f"{case!r}, rng", case, np.random.default_rng(1))
        if not isinstance(got, str):
            raise ExerciseFailed(f"the shuffle of {case!r} should be a str, got {type(got).__name__}")
        if len(got) != len(case):
            raise ExerciseFailed(f"the shuffle of {case!r} ({len(case)} nt) has {len(got)} nt")
        want, have = seq.kmer_counts(case, 2)[0], seq.kmer_counts(got, 2)[0]
        if (want != have).any():
            k = int(np.flatnonzero(want != have)[0])
            raise ExerciseFailed(
                f"the shuffle {got!r} of {case!r} has {have[k]} copies of {seq.kmers(2)[k]!r}, the original "
                f"{want[k]}. A dinucleotide shuffle must keep every count of adjacent pairs: walk an Eulerian path "
                f"through the graph whose edges are the original's dinucleotides."
            )
    long = cases[-1]
    outputs = {_call(fn, "a 101-nt sequence, rng", long, np.random.default_rng(s)) for s in range(5)}
    if len(outputs) == 1 and long in outputs:
        raise ExerciseFailed("the shuffle returned the sequence unchanged: it keeps the counts but shuffles nothing")
    if len(outputs) == 1:
        raise ExerciseFailed("five different random generators gave the same shuffle: use the rng you are given")
    _passed("dinucleotide_shuffle", len(cases) + 1)


def check_pwm_scan(fn: Callable[[str, np.ndarray], float]) -> None:
    """Check ``fn(sequence, weights (4, w)) -> float``: the best log-odds window score over both strands."""
    rng = np.random.default_rng(2)
    cases = []
    for width, length in ((3, 3), (4, 12), (6, 30), (8, 101)):
        cases.append(("".join(rng.choice(list("ACGT"), length)), rng.normal(size=(4, width))))
    cases.append(("CCCCTATCCCC", motifs.log_odds(motifs.pwm_from_iupac("GATA"))))

    def best(sequence, weights, both_strands=True):
        return float(motifs.best_scores(seq.one_hot([sequence]), weights, both_strands=both_strands)[0])

    check_function(
        fn, best, cases, name="pwm_scan", describe=lambda s, w: f"{s!r}, weights of width {w.shape[1]}",
        hints=[Hint(lambda got, s, w: np.isclose(got, best(s, w, both_strands=False), atol=1e-4),
                    "That is the forward strand's best: the factor binds double-stranded DNA, so also score the "
                    "reverse complement and keep the larger.")])


def _pair_counts(labels, scores) -> tuple[float, float, float]:
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=float)
    difference = scores[labels == 1][:, None] - scores[labels == 0][None, :]
    return float((difference > 0).mean()), float((difference == 0).mean()), float((difference < 0).mean())


def check_pair_auroc(fn: Callable[[np.ndarray, np.ndarray], float]) -> None:
    """Check ``fn(labels, scores) -> float``: the AUROC counted over (positive, negative) pairs, a tie one half,
    against :func:`teachbind.metrics.auroc`."""
    from teachbind import metrics

    def reference(labels, scores):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return metrics.auroc(labels, scores)

    rng = np.random.default_rng(6)
    cases = [(np.array([0, 1]), np.array([0.2, 0.9])), (np.array([0, 1, 1, 0]), np.array([0.5, 0.5, 0.9, 0.1])),
             (np.array([1, 0, 1, 0, 0]), np.array([1.0, 1.0, 1.0, 1.0, 1.0])),
             (np.array([1, 1, 0, 0]), np.array([0.1, 0.2, 0.8, 0.9]))]
    labels = rng.integers(0, 2, 300)
    cases.append((labels, np.round(rng.normal(size=300) + labels, 1)))
    check_function(
        fn, reference, cases, name="pair_auroc",
        describe=lambda y, s: f"{len(y)} labels ({int(y.sum())} positive), scores {_preview(np.asarray(s, float))}",
        hints=[Hint(lambda got, y, s: np.isclose(_as_array(got), _pair_counts(y, s)[0]),
                    "Ties are missing: a pair whose two scores are equal counts one half."),
               Hint(lambda got, y, s: np.isclose(_as_array(got), sum(_pair_counts(y, s)[:2])),
                    "A tie counts one half, not one."),
               Hint(lambda got, y, s: np.isclose(_as_array(got), 1 - reference(y, s)),
                    "Reversed: count the pairs in which the positive scores higher than the negative.")])


def check_information_content(fn: Callable[[np.ndarray], np.ndarray]) -> None:
    """Check ``fn(probs) -> (w,)``: the information content of each column of a probability matrix ``(4, w)``
    against a uniform background, in bits, ``2 + sum_b p_b log2 p_b``, a zero probability adding nothing."""
    rng = np.random.default_rng(9)
    cases = [(np.full((4, 1), 0.25),), (np.eye(4),), (np.array([[0.5], [0.5], [0.0], [0.0]]),),
             (rng.dirichlet(np.ones(4), 8).T,), (motifs.pwm_from_iupac("CCGCGNGGNGGCAG"),)]

    def entropy(probs):
        with np.errstate(divide="ignore", invalid="ignore"):
            return -np.where(probs > 0, probs * np.log2(probs), 0.0).sum(axis=0)

    check_function(
        fn, motifs.information_content, cases, name="information_content",
        describe=lambda p: f"probabilities of width {p.shape[1]}, first column {np.round(p[:, 0], 2).tolist()}",
        hints=[Hint(lambda got, p: np.isnan(_as_array(got)).any(),
                    "A zero probability gives 0 · log 0, which NumPy computes as nan; its limit is 0, so leave "
                    "those terms out."),
               Hint(lambda got, p: _close(got, motifs.information_content(p) * np.log(2)),
                    "That is in nats: take logarithms to base 2, so that a column with one certain letter holds "
                    "2 bits."),
               Hint(lambda got, p: _close(got, entropy(p)),
                    "That is the column's entropy, the uncertainty that remains; the information is what the "
                    "column removes from the background's 2 bits: 2 minus the entropy.")])


def check_chosen_on_training(fn: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], float]) -> None:
    """Check ``fn(train_scores, train_labels, test_scores, test_labels) -> float``: ``train_scores`` ``(K, N)`` and
    ``test_scores`` ``(K, M)`` hold K candidate motifs' scores; return the test AUROC of the candidate whose
    training AUROC is highest."""
    from teachbind import metrics

    rng = np.random.default_rng(10)
    cases = []
    for k, n, signal in ((5, 40, 0.0), (30, 80, 0.0), (12, 200, 1.5)):
        train_labels, test_labels = rng.integers(0, 2, n), rng.integers(0, 2, n)
        train_scores, test_scores = rng.normal(size=(k, n)), rng.normal(size=(k, n))
        train_scores[k // 2] += signal * train_labels
        test_scores[k // 2] += signal * test_labels
        cases.append((train_scores, train_labels, test_scores, test_labels))

    def aurocs(scores, labels):
        return np.array([metrics.auroc(labels, row) for row in scores])

    def reference(train_scores, train_labels, test_scores, test_labels):
        return aurocs(test_scores, test_labels)[np.argmax(aurocs(train_scores, train_labels))]

    check_function(
        fn, reference, cases, name="chosen_on_training",
        describe=lambda s, y, t, z: f"{len(s)} candidates, {s.shape[1]} training and {t.shape[1]} test sequences",
        hints=[Hint(lambda got, s, y, t, z: np.isclose(_as_array(got), aurocs(t, z).max()),
                    "That is the best test AUROC: it chooses the candidate on the test set, which is then no longer "
                    "a test. Choose by the training AUROC, then report the chosen candidate's test AUROC."),
               Hint(lambda got, s, y, t, z: np.isclose(_as_array(got), aurocs(s, y).max()),
                    "That is the chosen candidate's training AUROC: report its AUROC on the test set.")])


def check_bce_with_logits(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Check ``fn(logits, labels) -> float``: the mean binary cross-entropy of 0/1 ``labels`` ``(N,)`` under a
    model's ``logits`` ``(N,)``, finite even for logits of a hundred or more, against PyTorch's
    ``binary_cross_entropy_with_logits`` (Chapter 2)."""
    import torch.nn.functional as F

    generator = torch.Generator().manual_seed(20)
    cases = [(torch.tensor([0.0, 0.0]), torch.tensor([1.0, 0.0])), (torch.tensor([2.0, -1.0, 0.5]),
                                                                    torch.tensor([1.0, 0.0, 0.0])),
             (torch.randn(64, generator=generator) * 3, (torch.rand(64, generator=generator) > 0.5).float()),
             (torch.tensor([40.0, -40.0, 120.0, -120.0]), torch.tensor([1.0, 0.0, 0.0, 1.0]))]

    def naive(logits, labels):
        p = torch.sigmoid(logits)
        return -(labels * torch.log(p) + (1 - labels) * torch.log(1 - p)).mean()

    def finite(value) -> bool:
        return bool(np.isfinite(_as_array(value)).all())

    def answer(logits, labels):
        value = _as_array(fn(logits, labels))
        return value.reshape(()) if value.size == 1 else value

    answer.__name__ = getattr(fn, "__name__", "bce_with_logits")
    check_function(
        answer, lambda z, y: F.binary_cross_entropy_with_logits(z, y), cases, name="bce_with_logits",
        describe=lambda z, y: f"logits {_preview(z.numpy())}, labels {_preview(y.numpy())}",
        hints=[Hint(lambda got, z, y: not finite(got),
                    "A logit of 100 makes sigmoid(z) exactly 1.0 in floating point, and log(1 - 1.0) is -inf. "
                    "Write the loss in the logit itself: -log sigmoid(z) = log(1 + e^-z) = softplus(-z), and "
                    "-log(1 - sigmoid(z)) = softplus(z) (torch.nn.functional.softplus is stable)."),
               Hint(lambda got, z, y: _close(got, F.binary_cross_entropy_with_logits(z, y, reduction="sum")),
                    "That is the sum over the batch; the loss is the mean, so that it does not grow with the "
                    "batch size."),
               Hint(lambda got, z, y: _close(got, F.binary_cross_entropy_with_logits(-z, y)),
                    "The labels are swapped: a positive (label 1) pays -log sigmoid(z), which is small when its "
                    "logit is large."),
               Hint(lambda got, z, y: finite(got) and _close(got, naive(z, y)),
                    "Right where the logits are moderate; see the case with large logits.")])


def _tiny_task(seed: int) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(50, 3, generator=generator)
    y = (x[:, 0] - x[:, 1] > 0).float()
    torch.manual_seed(seed)
    return torch.nn.Linear(3, 1), x, y


def _epoch_reference(model, x, y, optimizer, batch_size, order):
    total = 0.0
    for start in range(0, len(x), batch_size):
        batch = order[start:start + batch_size]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x[batch]).squeeze(-1), y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(batch)
    return total / len(x)


def _epoch_probe(fn: Callable) -> Callable[[int, int], dict]:
    """What :func:`check_train_one_epoch` reads of ``fn``: the loss it returns and the weights it leaves, for a
    logistic regression on 50 examples, one epoch of SGD with momentum."""
    def probe(seed: int, batch_size: int) -> dict:
        model, x, y = _tiny_task(seed)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
        loss = fn(model, x, y, optimizer, batch_size, order)
        return {"loss": float(loss), "weights": torch.cat([p.detach().reshape(-1) for p in model.parameters()])}

    probe.__name__ = getattr(fn, "__name__", "train_one_epoch")
    return probe


@reads_through(_epoch_probe)
def check_train_one_epoch(probe: Callable[[int, int], dict]) -> None:
    """Check ``fn(model, x, y, optimizer, batch_size, order) -> float``: one epoch of mini-batch training, the
    batches taken in ``order``, each a forward pass (the model's outputs ``(B, 1)`` squeezed to ``(B,)``), the
    binary cross-entropy on logits, ``zero_grad``, ``backward`` and ``step``; it returns the epoch's mean loss per
    example and leaves the model trained (Chapter 2)."""
    cases = [(0, 10), (1, 16), (2, 50)]
    for seed, batch_size in cases:
        seen = _call(probe, f"seed {seed}, batch size {batch_size}", seed, batch_size)
        model, x, y = _tiny_task(seed)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
        loss = _epoch_reference(model, x, y, optimizer, batch_size, order)
        weights = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
        where = f"50 examples in batches of {batch_size}"
        untouched, _, _ = _tiny_task(seed)
        if _close(seen["weights"], torch.cat([p.detach().reshape(-1) for p in untouched.parameters()])):
            raise ExerciseFailed(f"{where}: the model's weights did not change; call optimizer.step() after "
                                 f"loss.backward() for every batch.")
        if not _close(seen["weights"], weights):
            raise ExerciseFailed(f"{where}: the weights after the epoch differ from the reference "
                                 f"({_preview(_as_array(seen['weights']))} against {_preview(_as_array(weights))}). "
                                 f"Take the batches in the given order, call optimizer.zero_grad() before each "
                                 f"backward() (gradients add up otherwise), and step once per batch.")
        if not np.isclose(seen["loss"], loss, atol=1e-4):
            hint = (" That is the mean of the batch losses; weight each by its batch's size, since the last "
                    "batch may be smaller." if len(x) % batch_size else " Return the mean loss per example "
                    "over the epoch, each batch's mean loss weighted by its size.")
            raise ExerciseFailed(f"{where}: the epoch's loss should be {loss:.4f}, got {seen['loss']:.4f}.{hint}")
    _passed("train_one_epoch", len(cases))


def check_group_split(fn: Callable[[np.ndarray, float, np.random.Generator], tuple]) -> None:
    """Check ``fn(groups, fraction, rng) -> (train, test)``: index arrays that together hold every example once,
    with no group on both sides and at least ``fraction`` of the examples in ``test`` (Chapter 2)."""
    rng = np.random.default_rng(21)
    cases = [(np.repeat(["chr1", "chr2", "chr3", "chr4"], [40, 30, 20, 10]), 0.25),
             (rng.integers(0, 50, 500), 0.2), (np.repeat(np.arange(100), 3), 0.1)]
    for groups, fraction in cases:
        where = f"{groups.size} examples in {np.unique(groups).size} groups, fraction {fraction}"
        train, test = (_as_array(part).astype(int) for part in _call(fn, where, groups, fraction,
                                                                     np.random.default_rng(0)))
        if np.sort(np.concatenate([train, test])).tolist() != list(range(groups.size)):
            raise ExerciseFailed(f"{where}: train and test together must hold each index 0..{groups.size - 1} "
                                 f"exactly once")
        shared = np.intersect1d(groups[train], groups[test])
        if shared.size:
            raise ExerciseFailed(f"{where}: group '{shared[0]}' has examples in both train and test. Choose whole "
                                 f"groups for the test set, then take every example of those groups.")
        if test.size < fraction * groups.size:
            raise ExerciseFailed(f"{where}: the test set holds {test.size} examples, fewer than {fraction} of "
                                 f"{groups.size}")
        if test.size == groups.size or train.size == 0:
            raise ExerciseFailed(f"{where}: every example went to the test set")
    _passed("group_split", len(cases))


def check_roc_points(fn: Callable[[np.ndarray, np.ndarray], tuple]) -> None:
    """Check ``fn(labels, scores) -> (fpr, tpr)``: the ROC curve from (0, 0) to (1, 1), one point per distinct
    score taken as a threshold from the highest down, so that tied scores move the curve diagonally; its area
    (``np.trapezoid``) must equal :func:`teachbind.metrics.auroc` (Chapter 2)."""
    from teachbind import metrics

    rng = np.random.default_rng(22)
    labels = rng.integers(0, 2, 200)
    cases = [(np.array([0, 1, 1, 0]), np.array([0.1, 0.9, 0.8, 0.3])),
             (np.array([1, 0, 1, 0, 1, 0]), np.array([0.5, 0.5, 0.5, 0.5, 0.9, 0.1])),
             (labels, np.round(rng.normal(size=200) + labels, 1))]
    for y, s in cases:
        where = f"{y.size} labels ({int(y.sum())} positive), {np.unique(s).size} distinct scores"
        fpr, tpr = (_as_array(part) for part in _call(fn, where, y, s))
        if fpr.shape != tpr.shape or fpr.ndim != 1:
            raise ExerciseFailed(f"{where}: fpr and tpr must be 1-D arrays of the same length, got {fpr.shape} "
                                 f"and {tpr.shape}")
        if not (np.isclose(fpr[0], 0) and np.isclose(tpr[0], 0) and np.isclose(fpr[-1], 1)
                and np.isclose(tpr[-1], 1)):
            raise ExerciseFailed(f"{where}: the curve must run from (0, 0), a threshold above every score, to "
                                 f"(1, 1); it runs from ({fpr[0]:.2f}, {tpr[0]:.2f}) to ({fpr[-1]:.2f}, "
                                 f"{tpr[-1]:.2f})")
        if (np.diff(fpr) < -1e-9).any() or (np.diff(tpr) < -1e-9).any():
            raise ExerciseFailed(f"{where}: fpr and tpr must never decrease as the threshold falls; sort the "
                                 f"scores from the highest down")
        area, expected = float(np.trapezoid(tpr, fpr)), metrics.auroc(y, s)
        if not np.isclose(area, expected, atol=1e-6):
            hint = (" Tied scores must enter together, as one threshold: step once per distinct score, not once "
                    "per sequence." if np.unique(s).size < s.size else "")
            raise ExerciseFailed(f"{where}: the area under your curve is {area:.4f}, the AUROC is "
                                 f"{expected:.4f}.{hint}")
    _passed("roc_points", len(cases))


def check_bootstrap_interval(fn: Callable[[np.ndarray, np.ndarray, int, np.random.Generator], tuple]) -> None:
    """Check ``fn(labels, scores, n, rng) -> (low, high)``: the 95% percentile bootstrap interval of the AUROC over
    ``n`` resamples of the (label, score) pairs with replacement. On 1,000 sequences it must contain the measured
    AUROC and be as wide as Hanley and McNeil's ±1.96 standard errors, within a quarter (Chapter 2)."""
    from teachbind import metrics

    rng = np.random.default_rng(23)
    cases = []
    for n_sequences, shift in ((1000, 1.0), (400, 2.0)):
        labels = np.repeat([1, 0], n_sequences // 2)
        cases.append((labels, rng.normal(size=n_sequences) + shift * labels))
    for labels, scores in cases:
        where = f"{labels.size} sequences (half positive)"
        low, high = (float(v) for v in _as_array(_call(fn, where, labels, scores, 400,
                                                       np.random.default_rng(0))).reshape(-1)[:2])
        auc = metrics.auroc(labels, scores)
        half = labels.size // 2
        expected = 2 * 1.96 * metrics.auroc_standard_error(auc, half, half)
        if high - low < 1e-9:
            raise ExerciseFailed(f"{where}: the interval has no width ({low:.4f} to {high:.4f}): draw each resample "
                                 f"with replacement (rng.integers or rng.choice(..., replace=True)); without it a "
                                 f"resample is the test set reordered, with the same AUROC.")
        if not low <= auc <= high:
            raise ExerciseFailed(f"{where}: the interval {low:.3f} to {high:.3f} does not contain the measured "
                                 f"AUROC {auc:.3f}. Resample (label, score) pairs together, with one set of "
                                 f"indices for both.")
        if not 0.75 * expected <= high - low <= 1.25 * expected:
            raise ExerciseFailed(f"{where}: the interval is {high - low:.3f} wide; for this test set it should be "
                                 f"about {expected:.3f} (the 2.5th to the 97.5th percentile of the resampled "
                                 f"AUROCs).")
    _passed("bootstrap_interval", len(cases))


def _stopping_reference(valid_losses, patience):
    best, waited = 0, 0
    for epoch in range(1, len(valid_losses)):
        if valid_losses[epoch] < valid_losses[best]:
            best, waited = epoch, 0
        else:
            waited += 1
        if waited >= patience:
            return np.array([epoch + 1, best + 1])
    return np.array([len(valid_losses), best + 1])


def check_early_stopping(fn: Callable[[list, int], tuple]) -> None:
    """Check ``fn(valid_losses, patience) -> (stopped, kept)``: given each epoch's validation loss (epoch 1 first),
    the epoch after which training stops (``patience`` epochs in a row without a new lowest loss, or the last
    epoch) and the epoch whose weights are kept (the lowest loss, the first of equal ones), both counted from 1
    (Chapter 2)."""
    cases = [([0.7, 0.6, 0.5, 0.55, 0.56, 0.57, 0.4], 3), ([0.7, 0.6, 0.5, 0.55, 0.56, 0.57, 0.4], 4),
             ([0.9, 0.8, 0.7], 2), ([0.5, 0.5, 0.5, 0.5], 2), ([0.69, 0.6, 0.62, 0.58, 0.59, 0.6, 0.61, 0.3], 1)]
    check_function(
        fn, _stopping_reference, cases, name="early_stopping",
        describe=lambda losses, patience: f"validation losses {losses}, patience {patience}",
        hints=[Hint(lambda got, losses, patience: _close(got, _stopping_reference(losses, patience) - 1),
                    "Count epochs from 1, as the history table does."),
               Hint(lambda got, losses, patience: _close(np.ravel(_as_array(got))[-1:], [len(losses)]),
                    "Keep the weights of the best epoch, not the last one: the last has already begun to "
                    "overfit."),
               Hint(lambda got, losses, patience: _close(np.ravel(_as_array(got))[-1:],
                                                         _stopping_reference(losses, patience)[-1:]),
                    "The kept epoch is right; the stop is not: training stops after `patience` epochs in a row "
                    "that do not improve on the best, counting from the best epoch.")])


def _small_deepbind(seed: int):
    torch.manual_seed(seed)
    return DeepBind(filters=4, width=6, hidden=0, dropout=0.0, conv_init_scale=1.0,
                    dense_init_scale=1.0).eval()


def check_both_strands(fn: Callable[[Callable, torch.Tensor], torch.Tensor]) -> None:
    """Check ``fn(strand_score, x) -> (N,)``: a double-stranded score, the larger of ``strand_score`` on the
    one-hot sequences ``x`` ``(N, 4, L)`` and on their reverse complements."""
    rng = np.random.default_rng(3)
    models = {length: _small_deepbind(seed) for seed, length in ((0, 12), (1, 30), (2, 101))}
    cases = [(models[length].strand_score, seq.one_hot(["".join(rng.choice(list("ACGT"), length))
                                                        for _ in range(8)])) for length in models]

    def reference(score, x):
        return torch.maximum(score(x), score(x.flip(1, 2)))

    with torch.no_grad():
        check_function(
            fn, reference, cases, name="both_strands",
            describe=lambda score, x: f"model.strand_score, x of shape {tuple(x.shape)}",
            hints=[Hint(lambda got, score, x: _close(got, score(x)),
                        "That is the forward strand alone: also score the reverse complement."),
                   Hint(lambda got, score, x: _close(got, torch.maximum(score(x), score(x.flip(2)))),
                        "You reversed the positions but did not complement the letters: with channels A, C, G, T, "
                        "flip dimension 1 (channels) as well as dimension 2 (positions)."),
                   Hint(lambda got, score, x: _close(got, (score(x) + score(x.flip(1, 2))) / 2),
                        "That is the mean of the strands: DeepBind keeps the larger (torch.maximum).")])


def check_allpool(fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Check ``fn(rectified) -> (N, 2K)``: DeepBind's all-pool features of rectified detector scores ``(N, K, P)``,
    every detector's maximum over positions, then every detector's mean."""
    generator = torch.Generator().manual_seed(5)
    cases = [(torch.relu(torch.randn(n, k, p, generator=generator)),) for n, k, p in ((1, 1, 5), (3, 2, 10),
                                                                                      (8, 16, 101))]

    def reference(rectified):
        return torch.cat([rectified.amax(-1), rectified.mean(-1)], dim=1)

    for (rectified,) in cases:
        n, k, _ = rectified.shape
        got = _as_array(_call(fn, f"rectified of shape {tuple(rectified.shape)}", rectified))
        expected = _as_array(reference(rectified))
        if got.shape == (n, k):
            raise ExerciseFailed(f"allpool(rectified of shape {tuple(rectified.shape)}) has shape {got.shape}: that is "
                                 f"one number per detector, as max pooling gives. All-pool keeps the maximum and the "
                                 f"mean of each detector, (N, 2K).")
        if got.shape != expected.shape:
            raise ExerciseFailed(f"allpool(rectified of shape {tuple(rectified.shape)}) has shape {got.shape}, "
                                 f"expected {expected.shape}: pool over the positions, the last dimension.")
        if not np.allclose(got, expected, atol=1e-5):
            interleaved = torch.stack([rectified.amax(-1), rectified.mean(-1)], dim=2).reshape(n, 2 * k)
            swapped = torch.cat([rectified.mean(-1), rectified.amax(-1)], dim=1)
            hint = ("The features are there but interleaved (max, mean of each detector in turn): concatenate all "
                    "the maxima, then all the means, as the model's output layer expects." if _close(got, interleaved)
                    else "The means come first: put every detector's maximum first, then the means."
                    if _close(got, swapped) else "Take the maximum and the mean over positions (dimension -1).")
            raise ExerciseFailed(f"allpool(rectified of shape {tuple(rectified.shape)}): expected "
                                 f"{_preview(expected)}, got {_preview(got)}. {hint}")
    _passed("allpool", len(cases))


def check_mutation_map(fn: Callable[[torch.nn.Module, torch.Tensor], torch.Tensor]) -> None:
    """Check ``fn(model, x) -> (4, L)``: for one one-hot sequence ``x`` ``(4, L)``, the change of the model's
    output when each position is changed to each letter (0 at the sequence's own letters)."""
    rng = np.random.default_rng(4)
    cases = [(_small_deepbind(seed), seq.one_hot("".join(rng.choice(list("ACGT"), length))))
             for seed, length in ((0, 10), (1, 25))]

    def reference(model, x):
        return ism(model, x[None], device="cpu")[0]

    def first_difference(got, model, x):
        b, i = np.unravel_index(np.abs(_as_array(got) - _as_array(reference(model, x))).argmax(), x.shape)
        return f"The first big difference: letter {'ACGT'[b]} at position {i}."

    with torch.no_grad():
        check_function(
            fn, reference, cases, name="mutation_map",
            describe=lambda model, x: f"model, one_hot({seq.decode(x[None])[0]!r})",
            hints=[Hint(lambda got, model, x: _close(got, -_as_array(reference(model, x))),
                        "The signs are flipped: record mutant minus wild type."),
                   Hint(lambda got, model, x: not np.allclose(_as_array(got)[x.numpy() == 1], 0, atol=1e-6),
                        "At the sequence's own letter nothing changes: that entry must be 0."),
                   Hint(lambda got, model, x: True, first_difference)])


def check_pad(fn: Callable[[torch.Tensor, int], torch.Tensor]) -> None:
    """Check ``fn(x, width) -> (N, 4, L + 2 (width - 1))``: one-hot sequences padded as DeepBind pads them, with
    ``width - 1`` positions of "any base" (0.25 in each channel) at each end."""
    rng = np.random.default_rng(11)
    cases = [(seq.one_hot(["".join(rng.choice(list("ACGT"), length)) for _ in range(n)]), width)
             for n, length, width in ((1, 5, 3), (4, 20, 6), (2, 101, 24), (3, 8, 1))]

    def reference(x, width):
        return DeepBind(filters=1, width=width, hidden=0).pad(x)

    check_function(
        fn, reference, cases, name="pad", atol=0,
        describe=lambda x, width: f"x of shape {tuple(x.shape)}, width={width}",
        hints=[Hint(lambda got, x, width: _close(got, torch.nn.functional.pad(x, (width - 1, width - 1))),
                    "Zeros say 'no base at all', and a detector's weights then add nothing there, which is "
                    "neither a good nor a bad site. Pad with 0.25 in every channel: any base, equally likely.")])


def _planted_ctcf_task(n: int = 1200):
    from teachbind.data.simulate import plant_motif

    planted = plant_motif(motifs.Motif("planted", "CTCF-like", motifs.pwm_from_iupac("CCGCGNGGNGGCAG")),
                          n, 101, seed=12)
    return seq.one_hot(planted.seqs), torch.as_tensor(planted.labels, dtype=torch.float32)


def train_planted(model: torch.nn.Module, *, epochs: int = 8, seed: int = 0) -> float:
    """Train ``model`` (one-hot ``(N, 4, 101)`` in, one logit per sequence ``(N,)`` out) with Adam on planted
    CTCF-like sites in 1,000 sequences, and return its AUROC on 200 others: :func:`check_small_model`'s test,
    which a learner can run on a model of their own."""
    from teachbind import metrics
    from teachbind.train import fit

    x, y = _planted_ctcf_task()
    torch.manual_seed(seed)
    fit(model, (x[:1000], y[:1000]), loss_fn=torch.nn.functional.binary_cross_entropy_with_logits,
        optimizer=torch.optim.Adam(model.parameters(), lr=0.01), max_epochs=epochs, batch_size=50, patience=None,
        device="cpu", amp=False, seed=seed, progress=False)
    model.eval()
    with torch.no_grad():
        return metrics.auroc(y[1000:].numpy(), model(x[1000:]).numpy())


def _small_model_probe(fn: Callable) -> Callable[[], dict]:
    """What :func:`check_small_model` reads of the model ``fn`` builds: its output shape on three sequences and,
    when that is right, its test AUROC after :func:`train_planted`."""
    def probe() -> dict:
        torch.manual_seed(0)
        model = fn()
        if not isinstance(model, torch.nn.Module):
            return {"type": type(model).__name__}
        x, _ = _planted_ctcf_task(3)
        with torch.no_grad():
            shape = list(model.eval()(x).shape)
        seen = {"type": "Module", "shape": shape}
        if shape == [3]:
            model.train()
            seen["auroc"] = train_planted(model)
        return seen

    probe.__name__ = getattr(fn, "__name__", "small_model")
    return probe


@reads_through(_small_model_probe)
def check_small_model(probe: Callable[[], dict]) -> None:
    """Check ``fn() -> nn.Module``: a model of one-hot sequences ``(N, 4, 101)`` that returns one logit per sequence
    ``(N,)`` and learns planted CTCF-like sites: :func:`train_planted` must give a test AUROC of at least 0.9
    (DeepBind's own design of one convolution, a max and a linear layer reaches 0.99 or more over seeds 0-4)."""
    seen = _call(probe, "")
    if seen["type"] != "Module":
        raise ExerciseFailed(f"return an nn.Module, got {seen['type']}")
    if seen["shape"] != [3]:
        hint = " (squeeze the last dimension)" if seen["shape"] == [3, 1] else ""
        raise ExerciseFailed(f"the model returns shape {tuple(seen['shape'])} for 3 sequences, expected (3,): one "
                             f"logit each{hint}")
    if not seen["auroc"] >= 0.9:
        raise ExerciseFailed(f"after training, the model's test AUROC is {seen['auroc']:.3f}, not yet 0.9. A site "
                             f"can sit anywhere in the sequence: scan with a convolution at least as wide as the "
                             f"motif (14 nt), rectify, take the maximum over positions, then a linear layer; leave "
                             f"out the final sigmoid (the loss takes logits).")
    _passed("small_model", 2)


def check_flattened_size(fn: Callable[[int, str], int]) -> None:
    """Check ``fn(length, padding) -> int``: how many features leave Basset's third convolution block (and enter
    its first dense layer) for a sequence of ``length`` bp with ``"same"`` or ``"valid"`` padding."""
    cases = [(length, padding) for length in (600, 1000, 200, 301) for padding in ("same", "valid")]

    def reference(length, padding):
        return Basset(1, length, padding=padding, hidden=(4,)).flattened

    check_function(
        fn, reference, cases, name="flattened_size", atol=0,
        hints=[Hint(lambda got, length, padding: padding == "same" and got == 200 * (length // 3 // 4 // 4),
                    "The released code pools in ceil mode: a last, partial window still gives an output, so "
                    "divide rounding up."),
                   Hint(lambda got, length, padding: padding == "valid" and got == reference(length, "same"),
                        "Without padding, a convolution of width w shortens the sequence by w - 1 before pooling."),
                   Hint(lambda got, length, padding: got == reference(length, padding) // 200,
                        "That is the number of positions; each carries the 200 filters of the third block.")])


def _filter_activations(seed: int, n: int = 30, length: int = 40, width: int = 5):
    rng = np.random.default_rng(seed)
    x = seq.one_hot(["".join(rng.choice(list("ACGT"), length)) for _ in range(n)])
    weights = torch.from_numpy(rng.normal(size=(1, 4, width)).astype(np.float32))
    return x, torch.relu(torch.nn.functional.conv1d(x, weights))[:, 0], width


def check_filter_pwm(fn: Callable[[torch.Tensor, torch.Tensor, int], np.ndarray]) -> None:
    """Check ``fn(x, activations, width) -> (4, width)``: the letter frequencies of every window whose activation
    exceeds half the filter's maximum, for one-hot ``x`` ``(N, 4, L)`` and one filter's activations
    ``(N, L - width + 1)`` (window ``p`` covers ``x[:, :, p:p + width]``). No pseudocounts."""
    cases = [_filter_activations(seed) for seed in range(3)]

    def reference(x, activations, width):
        return motifs.motifs_from_activations(x, activations[:, None], width, windows="all", pseudocount=0)[0].probs

    def best_only(x, activations, width):
        return motifs.motifs_from_activations(x, activations[:, None], width, windows="best", pseudocount=0)[0].probs

    check_function(
        fn, reference, cases, name="filter_pwm", describe=lambda x, a, w: f"x {tuple(x.shape)}, width {w}",
        hints=[Hint(lambda got, x, a, w: _close(got, best_only(x, a, w)),
                    "You kept one window per sequence: Basset counts every window above the threshold."),
               Hint(lambda got, x, a, w: not np.allclose(_as_array(got).sum(axis=0), 1),
                    "Turn the counts into frequencies: each column should sum to 1.")])


def check_filter_influence(fn: Callable[[torch.nn.Module, torch.Tensor, int], torch.Tensor]) -> None:
    """Check ``fn(model, x, f) -> (T,)``: the mean over sequences of the squared change in each cell type's predicted
    probability when filter ``f`` of the first layer (the output of ``model.conv[0][2]``) is replaced by its mean
    activation over ``x`` (all sequences and positions)."""
    rng = np.random.default_rng(5)
    torch.manual_seed(0)
    model = Basset(3, 40, filters=(6, 4, 4), widths=(5, 3, 3), pools=(2, 2, 2), hidden=(8,)).eval()
    with torch.no_grad():
        model.first_layer.weight.mul_(4)
        model.output.weight.mul_(8)
    x = seq.one_hot(["".join(rng.choice(list("ACGT"), 40)) for _ in range(16)])
    full = filter_influence(model, x, device="cpu")
    signed = filter_influence(model, x, signed=True, device="cpu")
    with torch.no_grad():
        check_function(
            fn, lambda model, x, f: full[f], [(model, x, f) for f in (0, 3, 5)], name="filter_influence",
            describe=lambda model, x, f: f"a small Basset, x {tuple(x.shape)}, filter {f}", atol=1e-6,
            hints=[Hint(lambda got, model, x, f: _close(got, signed[f], atol=1e-5),
                        "Square each sequence's change before averaging: Basset's influence is a mean squared "
                        "change, and signed changes cancel."),
                   Hint(lambda got, model, x, f: _close(got, -signed[f], atol=1e-5),
                        "Square each sequence's change before averaging (and mind the sign)."),
                   Hint(lambda got, model, x, f: True,
                        "Read the probabilities through a sigmoid, put the model in eval mode, and take the "
                        "filter's mean over every sequence and position before replacing its output.")])


def _measured_receptive_field(widths: tuple[int, ...], dilations: tuple[int, ...]) -> int:
    """The span of input positions one output of a stack of 1-D convolutions depends on, measured with autograd
    (from the first to the last position whose gradient is not zero)."""
    layers = torch.nn.Sequential(*[torch.nn.Conv1d(1, 1, w, dilation=d, bias=False)
                                   for w, d in zip(widths, dilations)])
    for layer in layers:
        torch.nn.init.constant_(layer.weight, 1.0)
    length = 1 + sum((w - 1) * d for w, d in zip(widths, dilations)) + 20
    x = torch.zeros(1, 1, length, requires_grad=True)
    layers(x)[0, 0, 0].backward()
    seen = x.grad[0, 0].nonzero().ravel()
    return int(seen[-1] - seen[0] + 1)


def check_receptive_field(fn: Callable[[list[int], list[int]], int]) -> None:
    """Check ``fn(widths, dilations) -> int``: the receptive field (the span of input positions one output depends
    on) of a stack of stride-1 convolutions with those widths and dilations, against a measurement with autograd."""
    cases = [([3], [1]), ([5], [2]), ([3, 3, 3, 3], [1, 1, 1, 1]), ([3, 3, 3, 3], [1, 2, 4, 8]),
             ([11, 3, 3], [1, 2, 4]), ([19, 11, 7], [1, 1, 1]), ([7, 3, 3, 3], [1, 3, 9, 27])]
    check_function(
        fn, lambda widths, dilations: _measured_receptive_field(tuple(widths), tuple(dilations)), cases,
        name="receptive_field", describe=lambda w, d: f"widths {w}, dilations {d}", atol=0,
        hints=[Hint(lambda got, w, d: _as_array(got) == 1 + sum(x - 1 for x in w),
                    "That ignores the dilations: a layer of width w and dilation d spreads its w taps over "
                    "(w - 1) * d + 1 positions."),
               Hint(lambda got, w, d: _as_array(got) == sum((x - 1) * y for x, y in zip(w, d)),
                    "One short: the output position itself counts. Start from 1 and add (w - 1) * d per layer."),
               Hint(lambda got, w, d: _as_array(got) == sum(x * y for x, y in zip(w, d)),
                    "Too wide: the taps of a layer span (w - 1) * d + 1 positions, and each layer adds (w - 1) * d "
                    "to the field of the layers it reads, not w * d.")])


def _shifted(x: torch.Tensor, d: int) -> torch.Tensor:
    out = torch.zeros_like(x)
    if d >= 0:
        out[..., d:] = x[..., :x.shape[-1] - d]
    else:
        out[..., :d] = x[..., -d:]
    return out


def check_shift(fn: Callable[[torch.Tensor, int], torch.Tensor]) -> None:
    """Check ``fn(x, d) -> (N, 4, L)``: one-hot sequences moved ``d`` positions towards their end (``d < 0``:
    towards the start), the uncovered positions all zeros, the length kept."""
    rng = np.random.default_rng(7)
    x = seq.one_hot(["".join(rng.choice(list("ACGT"), 12)) for _ in range(3)])
    cases = [(x, 0), (x, 3), (x, -3), (x, 1), (x, -11), (seq.one_hot(["ACGTTGCA"]), 2)]
    check_function(
        fn, _shifted, cases, name="shift", describe=lambda x, d: f"x of shape {tuple(x.shape)}, d={d}", atol=0,
        hints=[Hint(lambda got, x, d: _close(got, torch.roll(x, d, dims=-1)),
                    "The positions pushed past one end came back at the other (a roll): fill the uncovered "
                    "positions with zeros and drop what falls off."),
               Hint(lambda got, x, d: _close(got, _shifted(x, -d)),
                    "The wrong way: with d > 0 the letter at position i moves to position i + d.")])


def check_average_precision(fn: Callable[[np.ndarray, np.ndarray], float]) -> None:
    """Check ``fn(labels, scores) -> float``: the average precision, the mean over the positives of the precision
    among the sequences scored at least as high as each, as :func:`teachbind.metrics.aupr` (scikit-learn) computes
    it."""
    from teachbind import metrics

    rng = np.random.default_rng(13)
    cases = [(np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.7, 0.1])), (np.array([0, 0, 1]), np.array([3.0, 2.0, 1.0]))]
    for n, fraction in ((50, 0.5), (400, 0.05), (300, 0.2)):
        labels = (rng.random(n) < fraction).astype(int)
        labels[0] = 1
        cases.append((labels, np.round(rng.normal(size=n) + labels, 1)))

    def trapezoid(labels, scores):
        precision, recall, _ = metrics._sklearn().precision_recall_curve(labels, scores)
        return metrics._sklearn().auc(recall, precision)

    check_function(
        fn, metrics.aupr, cases, name="average_precision",
        describe=lambda y, s: f"{len(y)} labels ({int(y.sum())} positive), scores {_preview(np.asarray(s, float))}",
        hints=[Hint(lambda got, y, s: np.isclose(_as_array(got), metrics.auroc(y, s)),
                    "That is the AUROC. Average precision asks, at each positive, what fraction of the sequences "
                    "ranked at or above it are positive."),
               Hint(lambda got, y, s: np.isclose(_as_array(got), trapezoid(y, s)),
                    "Joining the precision-recall points by straight lines (the trapezoid rule) overstates the "
                    "area: precision does not change linearly between them. Sum precision times the step in "
                    "recall instead."),
               Hint(lambda got, y, s: np.isclose(_as_array(got), metrics.aupr(y, -np.asarray(s, float))),
                    "Reversed: rank from the highest score down.")])


def check_presence_auroc(fn: Callable[[np.ndarray, np.ndarray], float]) -> None:
    """Check ``fn(structure, labels) -> float``: the AUROC of the score "this window has a structure profile" (1
    when any position of its row of ``structure`` ``(N, L)`` is not zero, else 0) for the 0/1 ``labels``."""
    from teachbind import metrics

    rng = np.random.default_rng(8)
    cases = []
    for n, present_in_positives, present_in_negatives in ((10, 0.8, 0.3), (200, 0.9, 0.2), (200, 0.5, 0.5)):
        labels = (rng.random(n) < 0.3).astype(int)
        present = rng.random(n) < np.where(labels == 1, present_in_positives, present_in_negatives)
        structure = np.where(present[:, None], rng.random((n, 20)) * (rng.random((n, 20)) < 0.7), 0.0)
        structure[present & (structure.sum(1) == 0), 0] = 0.5
        cases.append((structure, labels))

    def reference(structure, labels):
        return metrics.auroc(labels, (structure != 0).any(axis=1).astype(float))

    check_function(
        fn, reference, cases, name="presence_auroc",
        describe=lambda structure, labels: f"structure of shape {structure.shape}, {int(labels.sum())} positives",
        hints=[Hint(lambda got, structure, labels: np.isclose(_as_array(got),
                                                              metrics.auroc(labels, structure.mean(1))),
                    "That scores the mean paired probability: score only whether the window has a profile at all, "
                    "1 or 0."),
               Hint(lambda got, structure, labels: np.isclose(_as_array(got), 1 - reference(structure, labels)),
                    "Reversed: a window with a profile should score 1, one without 0.")])


def check_spacing_effects(fn: Callable[[torch.nn.Module, torch.Tensor, str, int, list[int]], object]) -> None:
    """Check ``fn(model, background, pattern, position, spacings) -> (len(spacings),)``: the global importance of
    two copies of ``pattern``, the first at ``position`` and the second ``spacing`` nt after the end of the first,
    for each spacing (Chapter 6). The model is a planted grammar whose spacing bonus is known."""
    from teachbind.data.grammar import Grammar
    from teachbind.interpret import gia

    grammar = Grammar(spacing=4, gc_penalty=0.5)
    background = gia.profile_background(grammar.simulate(200, seed=3)[1], 50, seed=4)

    def reference(model, x, pattern, position, spacings):
        placements = {s: gia.embedding((pattern, position), (pattern, position + len(pattern) + s), alphabet="RNA")
                      for s in spacings}
        return gia.experiment(model, x, placements, device="cpu")["mean"].to_numpy()

    def one_copy(model, x, pattern, position):
        one = {"one": gia.embedding((pattern, position), alphabet="RNA")}
        return gia.experiment(model, x, one, device="cpu")["mean"].iloc[0]

    cases = [(grammar, background, "UGCAUG", 3, [0, 2, 4, 6, 10]), (grammar, background, "UGCAUG", 10, [1, 4, 7])]
    check_function(
        fn, reference, cases, name="spacing_effects", atol=1e-4,
        describe=lambda model, x, pattern, position, spacings: f"grammar, {len(x)} backgrounds, {pattern!r}, "
                                                               f"{position}, {spacings}",
        hints=[Hint(lambda got, model, x, pattern, position, spacings: np.allclose(
                    _as_array(got), reference(model, x, pattern, position, [s + len(pattern) for s in spacings]),
                    atol=1e-4) if position + 2 * len(pattern) + 2 * max(spacings) <= x.shape[-1] else False,
                    "The spacing runs from the end of the first copy to the start of the second, not from start "
                    "to start."),
               Hint(lambda got, model, x, pattern, position, spacings: np.allclose(
                    _as_array(got), reference(model, x, pattern, position, spacings)
                    - one_copy(model, x, pattern, position), atol=1e-4),
                    "Measure each effect against the background itself, not against a sequence that already "
                    "holds the first copy.")])


def check_profile_background(fn: Callable[[torch.Tensor, int, np.random.Generator], torch.Tensor]) -> None:
    """Check ``fn(x, n, rng) -> (n, 4, L)``: ``n`` one-hot sequences whose letters are drawn independently at each
    position from the letter frequencies of ``x`` ``(N, 4, L)`` at that position (Chapter 6)."""
    rng = np.random.default_rng(0)
    x = seq.one_hot(["AACGU", "ACCGU", "AGCGA", "AUCGC"], alphabet="RNA")
    got = _as_array(_call(fn, "4 probes of 5 nt, n=20000", x, 20_000, rng))
    if got.shape != (20_000, 4, 5):
        raise ExerciseFailed(f"profile_background(4 probes of 5 nt, n=20000) has shape {got.shape}, "
                             f"expected (20000, 4, 5)")
    if not (np.isin(got, (0, 1)).all() and (got.sum(1) == 1).all()):
        raise ExerciseFailed("every position of every sampled sequence must hold exactly one letter (one-hot)")
    frequencies, expected = got.mean(0), x.numpy().mean(0)
    if np.allclose(frequencies, expected.mean(1, keepdims=True), atol=0.02):
        raise ExerciseFailed("every position has the same letter frequencies: draw each position from its own "
                             "column of the profile, not from the overall composition")
    if not np.allclose(frequencies, expected, atol=0.02):
        raise ExerciseFailed(f"the sampled letter frequencies {np.round(frequencies, 2).tolist()} differ from the "
                             f"profile {np.round(expected, 2).tolist()}")
    sequences = {seq.decode(torch.from_numpy(s).float(), alphabet="RNA") for s in got[:2000]}
    if len(sequences) <= 4:
        raise ExerciseFailed("the samples are copies of the input sequences: draw each position independently")
    _passed("profile_background", 4)


def _centred_pair(length: int, width: int, spacing: int) -> tuple[int, int]:
    first = (length - (2 * width + spacing)) // 2
    return first, first + width + spacing


def check_centred_pair(fn: Callable[[int, int, int], tuple[int, int]]) -> None:
    """Check ``fn(length, width, spacing) -> (first, second)``: the start positions of two copies of a ``width``-nt
    motif ``spacing`` nt apart (from the end of the first to the start of the second), placed so that the span of
    the pair is centred in a probe of ``length`` nt (starting at ``(length - span) // 2``)."""
    cases = [(41, 6, 0), (41, 6, 4), (41, 6, 9), (40, 6, 3), (101, 8, 20)]
    check_function(
        fn, _centred_pair, cases, name="centred_pair", atol=0,
        hints=[Hint(lambda got, length, width, spacing: np.allclose(
                    _as_array(got), [(length - 2 * width) // 2, (length - 2 * width) // 2 + width + spacing]),
                    "The first copy stays where it was while the second moves away: then every spacing also moves "
                    "the pair towards the probe's end, and a position effect is read as a spacing effect. Move both "
                    "copies so that the pair's span stays centred."),
               Hint(lambda got, length, width, spacing: np.allclose(
                    _as_array(got), [(length - width - spacing) // 2, (length - width - spacing) // 2 + spacing]),
                    "The spacing runs from the end of the first copy to the start of the second, not from start "
                    "to start.")])


def check_global_importance(fn: Callable) -> None:
    """Check ``fn(model, background, pattern, position) -> float``: the global importance of ``pattern`` written at
    ``position`` into every background sequence ``(N, 4, L)``: the mean over the backgrounds of the model's
    prediction with the pattern minus its prediction without it (Chapter 6)."""
    from teachbind.data.grammar import Grammar
    from teachbind.interpret import gia

    grammar = Grammar(spacing=4, gc_penalty=0.5)
    background = gia.profile_background(grammar.simulate(200, seed=5)[1], 40, seed=6)

    def reference(model, x, pattern, position):
        return gia.experiment(model, x, {"one": gia.embedding((pattern, position), alphabet="RNA")},
                              device="cpu")["mean"].iloc[0]

    def with_pattern(model, x, pattern, position):
        embedded = gia.embedding((pattern, position), alphabet="RNA")(x)
        with torch.no_grad():
            return float(model(embedded).mean())

    cases = [(grammar, background, "UGCAUG", 17), (grammar, background, "UGCAUG", 0), (grammar, background, "GC", 30)]
    check_function(
        fn, reference, cases, name="global_importance",
        describe=lambda model, x, pattern, position: f"grammar, {len(x)} backgrounds, {pattern!r} at {position}",
        hints=[Hint(lambda got, model, x, pattern, position: np.isclose(
                    _as_array(got), with_pattern(model, x, pattern, position), atol=1e-4),
                    "That is the mean prediction with the pattern: subtract the prediction for the same "
                    "backgrounds without it, so that only the pattern's effect remains.")])


def _cd1_reference(weight, visible_bias, hidden_bias, v, hidden_sample, *, sampled_statistics: bool = False):
    from teachbind.models.rbm import RBM

    rbm = RBM(weight.shape[1], weight.shape[0])
    rbm.weight.data, rbm.visible_bias.data, rbm.hidden_bias.data = weight, visible_bias, hidden_bias
    positive = hidden_sample if sampled_statistics else rbm.hidden_probabilities(v)
    reconstruction = rbm.visible_mean(hidden_sample)
    negative = rbm.hidden_probabilities(reconstruction)
    return ((positive.T @ v - negative.T @ reconstruction) / len(v), (v - reconstruction).mean(0),
            (positive - negative).mean(0))


def check_cd1_step(fn: Callable) -> None:
    """Check ``fn(weight, visible_bias, hidden_bias, v, hidden_sample) -> (d_weight, d_visible, d_hidden)``: one
    CD-1 estimate for a Bernoulli RBM (Chapter 5), with the hidden sample given so the answer is exact:
    ``weight`` ``(H, V)``, ``v`` ``(N, V)``, ``hidden_sample`` ``(N, H)``; the reconstruction is the visible
    mean ``σ(h W + b)``."""
    generator = torch.Generator().manual_seed(0)
    cases = []
    for n, visible, hidden in [(1, 3, 2), (5, 6, 4), (20, 10, 7)]:
        weight = torch.randn(hidden, visible, generator=generator)
        v = torch.bernoulli(torch.full((n, visible), 0.4), generator=generator)
        h = torch.bernoulli(torch.full((n, hidden), 0.5), generator=generator)
        cases.append((weight, torch.randn(visible, generator=generator), torch.randn(hidden, generator=generator), v, h))
    for case in cases:
        n, visible = case[3].shape
        hidden = case[0].shape[0]
        got = _call(fn, f"{n} rows, {visible} visible, {hidden} hidden units", *case)
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            raise ExerciseFailed("return three gradients: (d_weight, d_visible_bias, d_hidden_bias)")
        expected = _cd1_reference(*case)
        for label, g, e in zip(("d_weight", "d_visible_bias", "d_hidden_bias"), got, expected):
            if _as_array(g).shape != tuple(e.shape):
                raise ExerciseFailed(f"{label} has shape {_as_array(g).shape}, expected {tuple(e.shape)}")
            if not _close(g, e):
                sampled = _cd1_reference(*case, sampled_statistics=True)[("d_weight", "d_visible_bias",
                                                                           "d_hidden_bias").index(label)]
                hint = ""
                if label == "d_weight" and _close(_as_array(g) / n, e):
                    hint = " Divide by the number of rows: the gradient is a mean over the batch."
                elif _close(-_as_array(g), e):
                    hint = " The sign is reversed: data statistics minus reconstruction statistics."
                elif _close(g, sampled):
                    hint = (" The data phase used the hidden sample: use the hidden probabilities p(h|v) in both "
                            "phases' statistics (the sample only drives the reconstruction).")
                raise ExerciseFailed(f"{label} differs on {n} rows x {visible} visible units: got "
                                     f"{_preview(_as_array(g))}, expected {_preview(_as_array(e))}.{hint}")
    _passed("cd1_step", len(cases))


def _fusion_probe(fn: Callable) -> Callable[[], dict]:
    """What :func:`check_late_fusion` reads of the model ``fn`` builds, as plain values: its outputs on three windows,
    on the same windows with each modality changed and with an unused one changed, whether it owns the sub-networks'
    parameters, and the input width of its last one-output linear layer."""
    from teachbind.models.ideep import DenseNet, Modalities, SequenceCNN

    def probe() -> dict:
        torch.manual_seed(0)
        subnets = {"sequence": SequenceCNN(), "structure": DenseNet(101, 16)}
        model = fn(subnets)
        if not isinstance(model, torch.nn.Module):
            return {"type": type(model).__name__}
        model.eval()
        x = Modalities(sequence=seq.one_hot(["ACGT" * 25 + "A"] * 3), structure=torch.rand(3, 101),
                       region=torch.rand(3, 5, 101))
        changes = {"structure": {"structure": torch.rand(3, 101)},
                   "sequence": {"sequence": seq.one_hot(["UGCA" * 25 + "U"] * 3, alphabet="RNA")},
                   "region": {"region": torch.rand(3, 5, 101)}}
        with torch.no_grad():
            outputs = {name: model(Modalities(**{**x.tensors, **change})) for name, change in changes.items()}
            outputs["unchanged"] = model(x)
        owned = {id(p) for net in subnets.values() for p in net.parameters()} <= {id(p) for p in model.parameters()}
        linear = [m for m in model.modules() if isinstance(m, torch.nn.Linear) and m.out_features == 1]
        return {"type": "Module", "outputs": outputs, "owns_subnets": owned,
                "last_linear_in": linear[-1].in_features if linear else None,
                "concatenated": sum(net.out_features for net in subnets.values())}

    probe.__name__ = getattr(fn, "__name__", "late_fusion")
    return probe


@reads_through(_fusion_probe)
def check_late_fusion(probe: Callable[[], dict]) -> None:
    """Check ``fn(subnets) -> nn.Module``: given ``{modality: sub-network}`` (each with ``out_features``), a model
    that reads :class:`teachbind.models.ideep.Modalities`, runs every sub-network on its own modality, concatenates
    their outputs and maps them to one logit per window, ``(N,)`` (Chapter 5)."""
    seen = _call(probe, "{'sequence': SequenceCNN(), 'structure': DenseNet(101, 16)}")
    if seen["type"] != "Module":
        raise ExerciseFailed(f"return an nn.Module, got {seen['type']}")
    out = seen["outputs"]["unchanged"]
    if tuple(out.shape) != (3,):
        raise ExerciseFailed(f"the model returns shape {tuple(out.shape)} for 3 windows, expected (3,): one logit "
                             f"each (squeeze the last dimension)")
    if not seen["owns_subnets"]:
        raise ExerciseFailed("the sub-networks' parameters are not the model's: register them (nn.ModuleDict), "
                             "or the optimizer will never train them")
    for name in ("structure", "sequence"):
        if _close(seen["outputs"][name], out, atol=1e-8):
            raise ExerciseFailed(f"changing the {name} input leaves the output unchanged: feed every sub-network "
                                 f"its own modality")
    if not _close(seen["outputs"]["region"], out, atol=1e-6):
        raise ExerciseFailed("the output depends on 'region', which has no sub-network: read only the modalities "
                             "in `subnets`")
    if seen["last_linear_in"] != seen["concatenated"]:
        raise ExerciseFailed(f"the last layer should map the {seen['concatenated']} concatenated features to 1 logit")
    _passed("late_fusion", 4)


def _permuted(x, modality: str, order: np.ndarray):
    from teachbind.models.ideep import Modalities

    return Modalities(**{**x.tensors, modality: x[modality][torch.as_tensor(order)]})


class _ReadsStructureMostly(torch.nn.Module):
    """A fixed two-modality model for :func:`check_permutation_importance`: mostly the structure, a little of the
    sequence's G content."""

    def forward(self, x):
        return 3 * x["structure"].mean(1) + 0.3 * x["sequence"][:, 2].mean(1)


def check_permutation_importance(fn: Callable) -> None:
    """Check ``fn(model, x, labels, modality, rng) -> float``: how much a model's test AUROC drops when one modality
    of :class:`teachbind.models.ideep.Modalities` ``x`` is shuffled across windows, with
    ``order = rng.permutation(len(x))``: ``AUROC(model(x)) - AUROC(model(x with x[modality][order]))``."""
    from teachbind import metrics
    from teachbind.models.ideep import Modalities

    rng, generator = np.random.default_rng(14), torch.Generator().manual_seed(14)
    n = 300
    structure = torch.rand(n, 30, generator=generator)
    sequences = seq.one_hot(["".join(rng.choice(list("ACGT"), 30)) for _ in range(n)])
    labels = (rng.random(n) < 1 / (1 + np.exp(-6 * (structure.mean(1).numpy() - 0.5)))).astype(int)
    x = Modalities(sequence=sequences, structure=structure, region=torch.rand(n, 5, 30, generator=generator))
    model = _ReadsStructureMostly()
    cases = [(model, x, labels, modality, seed) for modality in ("structure", "sequence", "region") for seed in (0, 1)]

    def auroc(x_):
        with torch.no_grad():
            return metrics.auroc(labels, model(x_).numpy())

    def reference(model, x, labels, modality, seed):
        return auroc(x) - auroc(_permuted(x, modality, np.random.default_rng(seed).permutation(len(x))))

    def shuffled_auroc(got, model, x, labels, modality, seed):
        return np.isclose(_as_array(got), auroc(_permuted(x, modality, np.random.default_rng(seed).permutation(n))))

    @functools.wraps(fn)
    def with_generator(model, x, labels, modality, seed):
        return fn(model, x, labels, modality, np.random.default_rng(seed))

    check_function(
        with_generator, reference, cases, name="permutation_importance",
        describe=lambda model, x, labels, modality, seed: f"model, {len(x)} windows, {modality!r}, "
                                                          f"np.random.default_rng({seed})",
        hints=[Hint(shuffled_auroc, "That is the AUROC after the shuffle: return how much it dropped, the AUROC on "
                                    "the intact data minus it."),
               Hint(lambda got, model, x, labels, modality, seed: np.isclose(
                   _as_array(got), -reference(model, x, labels, modality, seed)),
                    "The sign is reversed: intact minus shuffled, so that a modality the model relies on scores "
                    "above 0."),
               Hint(lambda got, model, x, labels, modality, seed: modality == "region",
                    "The model never reads 'region', so shuffling it cannot change its predictions: shuffle only the "
                    "named modality, and the same rows of every position (whole windows, not letters).")])


def check_hairpin(fn: Callable[[str, str], str]) -> None:
    """Check ``fn(stem, loop) -> str``: the RNA hairpin ``stem + loop + reverse complement of stem``, whose two arms
    pair with each other."""
    from teachbind.data.grammar import Grammar

    cases = [("GAUCCA", "CCUGCAUGCC"), ("G", "AAAA"), ("UGCAUG", "CCCCCCCCCC"), ("ACGUUA", "")]
    for stem, loop in cases:
        got = _call(fn, f"{stem!r}, {loop!r}", stem, loop)
        expected = Grammar().hairpin(stem, loop)
        if got == expected:
            continue
        arm = got[len(stem) + len(loop):] if isinstance(got, str) else ""
        hint = ("The second arm is the complement read in the same direction; it must pair base for base with the "
                "first read backwards (RNA strands pair antiparallel), so reverse it too."
                if arm == stem.translate(str.maketrans("ACGU", "UGCA")) else
                "The second arm is the first reversed but not complemented." if arm == stem[::-1] else
                "RNA has U, not T." if "T" in str(got) else "")
        raise ExerciseFailed(f"hairpin({stem!r}, {loop!r}): expected {expected!r}, got {got!r}. {hint}".rstrip())
    _passed("hairpin", len(cases))


def _small_basset(seed: int, length: int = 24) -> Basset:
    """A random one-output Basset small enough for a check: one-hot ``(N, 4, length)`` → ``(N, 1)``, its output
    weights scaled up so that single letters move it by more than a check's tolerance."""
    torch.manual_seed(seed)
    model = Basset(1, length, filters=(6, 6, 6), widths=(5, 3, 3), pools=(2, 2, 2), hidden=(8,), dropout=0.0)
    with torch.no_grad():
        model.output.weight.mul_(30)
    return model.eval()


def _random_one_hot(rng: np.random.Generator, n: int, length: int) -> torch.Tensor:
    return seq.one_hot(["".join(rng.choice(list("ACGT"), length)) for _ in range(n)])


def check_corrected_gradient(fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Check ``fn(gradients) -> (N, 4, L)``: gradients of a one-hot input with their mean over the four letters
    subtracted at each position (Majdandzic et al. 2023; Chapter 7)."""
    from teachbind.interpret.attribution import gradient_correction

    rng = np.random.default_rng(7)
    cases = [(torch.from_numpy(rng.normal(size=shape)).float(),) for shape in ((1, 4, 5), (3, 4, 12))]
    check_function(
        fn, gradient_correction, cases, name="corrected",
        describe=lambda g: f"gradients of shape {tuple(g.shape)}",
        hints=[Hint(lambda got, g: _close(got, g - g.mean(dim=2, keepdim=True)),
                    "That subtracts the mean over positions; the correction subtracts, at each position, the mean "
                    "over the four letters (dimension 1)."),
               Hint(lambda got, g: _close(got, g - g.mean()), "Subtract one mean per position, not one mean for "
                                                               "the whole array."),
               Hint(lambda got, g: _close(got, g.mean(dim=1, keepdim=True).expand_as(g)),
                    "That is the part to remove; return the gradients minus it.")])


def check_integrated_gradients(fn: Callable) -> None:
    """Check ``fn(model, x, reference, steps) -> (N, 4, L)``: integrated gradients of a one-output model from one
    reference per sequence, the integral taken as the mean gradient at ``steps`` midpoints (Chapter 7)."""
    from teachbind.interpret.attribution import integrated_gradients, shuffled_references

    rng = np.random.default_rng(8)
    x = _random_one_hot(rng, 3, 24)
    reference_one = shuffled_references(x, 1, seed=9)[:, 0]
    cases = [(_small_basset(0), x, reference_one, 1), (_small_basset(1), x, reference_one, 6)]

    def reference(model, x, start, steps):
        return integrated_gradients(model, x, references=start[:, None], steps=steps, device="cpu")

    def endpoint(model, x, start, steps):
        path = x.clone().requires_grad_(True)
        return (x - start) * torch.autograd.grad(model(path).sum(), path)[0]

    check_function(
        fn, reference, cases, name="integrated_gradients", atol=1e-4,
        describe=lambda model, x, start, steps: f"a small Basset, {len(x)} sequences of {x.shape[-1]} bp, "
                                                f"steps={steps}",
        hints=[Hint(lambda got, model, x, start, steps: _close(got, endpoint(model, x, start, steps)),
                    "Those are the gradients at x only: average them over the points of the path from the "
                    "reference to x."),
               Hint(lambda got, model, x, start, steps: _close(got, reference(model, x, start, steps)
                                                            / (x - start).where(x != start, 1)),
                    "Multiply the averaged gradient by (x - reference): that is what makes the attributions add up "
                    "to f(x) - f(reference)."),
               Hint(lambda got, model, x, start, steps: True,
                    "Use the midpoints reference + (k + 0.5) / steps * (x - reference), k = 0 ... steps - 1.")])


def check_site_auroc(fn: Callable) -> None:
    """Check ``fn(attributions, x, mask) -> float``: the AUROC with which the attribution of the letter present
    separates the planted positions ``mask`` ``(N, L)`` from the others, over all positions (Chapter 7)."""
    from teachbind.metrics import auroc

    rng = np.random.default_rng(10)
    cases = []
    for n, length in ((4, 20), (6, 35)):
        x = _random_one_hot(rng, n, length)
        mask = np.zeros((n, length), dtype=bool)
        for row in range(n):
            start = rng.integers(0, length - 6)
            mask[row, start:start + 6] = True
        attributions = torch.from_numpy(rng.normal(size=(n, 4, length))).float() + 1.5 * torch.from_numpy(mask)[:, None]
        cases.append((attributions, x, mask))

    def reference(attributions, x, mask):
        return auroc(mask.ravel(), (attributions * x).sum(dim=1).numpy().ravel())

    check_function(
        fn, reference, cases, name="site_auroc",
        describe=lambda a, x, mask: f"{len(x)} sequences of {x.shape[-1]} bp, {int(mask.sum())} planted positions",
        hints=[Hint(lambda got, a, x, mask: np.isclose(float(_as_array(got)), auroc(mask.ravel(),
                                                                                a.sum(dim=1).numpy().ravel())),
                    "That sums the attributions of all four letters; keep only the letter present (multiply by x "
                    "before summing over letters)."),
               Hint(lambda got, a, x, mask: np.isclose(float(_as_array(got)), 1 - reference(a, x, mask)),
                    "The planted positions are the positives: higher attribution should mean planted.")])


def _runs(scores, threshold, min_length):
    above = np.r_[False, np.asarray(scores) >= threshold, False]
    edges = np.flatnonzero(np.diff(above.astype(int)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2]) if b - a >= min_length]


def check_seqlets(fn: Callable) -> None:
    """Check ``fn(scores, threshold, min_length) -> [(start, end), ...]``: the maximal runs (end exclusive, in
    order) of positions scoring at least ``threshold`` that are at least ``min_length`` long (Chapter 7)."""
    rng = np.random.default_rng(11)
    cases = [(np.array([0.0, 2, 2, 2, 0, 3, 0, 2, 2, 2, 2]), 1.0, 2),
             (np.array([5.0, 5, 5, 0, 0, 1, 1]), 1.0, 3),
             (np.array([1.0, 1, 1, 1]), 1.0, 1),
             (rng.normal(size=60), 0.3, 2)]

    def as_pairs(value):
        return _as_array(value).reshape(-1, 2) if len(_as_array(value).ravel()) else np.zeros((0, 2))

    check_function(
        fn, _runs, cases, name="seqlets",
        describe=lambda scores, threshold, min_length: f"{len(scores)} scores, threshold={threshold}, "
                                                       f"min_length={min_length}", atol=0,
        hints=[Hint(lambda got, scores, threshold, min_length: _close(
                    as_pairs(got), as_pairs(_runs(scores, threshold, min_length)) - [0, 1], atol=0),
                    "The end is exclusive: the run [start, end) covers positions start ... end - 1."),
               Hint(lambda got, scores, threshold, min_length: _close(
                    as_pairs(got), as_pairs(_runs(scores, threshold, 1)), atol=0),
                    "Drop the runs shorter than min_length."),
               Hint(lambda got, scores, threshold, min_length: True,
                    "A run may reach the last position: close it there too; a score equal to the threshold counts.")])


def _variant_probe(fn: Callable) -> Callable:
    """What :func:`check_variant_effect` reads of ``fn``: its effects, and whether the ``x`` it was given is left as
    it was."""
    def probe(model, x, position, letter) -> dict:
        given = x.clone()
        effect = fn(model, given, position, letter)
        return {"effect": effect, "kept": bool(torch.equal(given, x))}

    probe.__name__ = getattr(fn, "__name__", "variant_effect")
    return probe


@reads_through(_variant_probe)
def check_variant_effect(probe: Callable) -> None:
    """Check ``fn(model, x, position, letter) -> (N,)``: the change in a one-output model's prediction when the
    letter at ``position`` becomes ``letter`` (0-3, A C G T), alternative minus reference, ``x`` unchanged
    (Chapter 7)."""
    rng = np.random.default_rng(12)
    x = _random_one_hot(rng, 5, 24)
    cases = [(_small_basset(2), x, 3, 0), (_small_basset(3), x, 12, 2), (_small_basset(3), x, 23, 3)]
    for model, x, position, letter in cases:
        where = f"a small Basset, {len(x)} sequences, position {position}, letter {'ACGT'[letter]}"
        seen = _call(probe, where, model, x, position, letter)
        with torch.no_grad():
            expected = _as_array(ism(model, x, target=0, device="cpu")[:, letter, position])
        if not seen["kept"]:
            raise ExerciseFailed(f"variant_effect({where}) changed the x it was given: work on a copy (x.clone()), "
                                 f"so that the caller's sequences stay as they were.")
        got = _as_array(seen["effect"])
        if got.shape != expected.shape:
            raise ExerciseFailed(f"variant_effect({where}) has shape {got.shape}, expected {expected.shape}")
        if not np.allclose(got, expected, atol=1e-4):
            hint = ("The signs are flipped: the effect is the alternative's prediction minus the reference's."
                    if np.allclose(got, -expected, atol=1e-4) else
                    "Set the whole column at that position to zero, then put a 1 at the new letter.")
            raise ExerciseFailed(f"variant_effect({where}): expected {_preview(expected)}, got {_preview(got)}. {hint}")
    _passed("variant_effect", len(cases))


def check_completeness_gap(fn: Callable) -> None:
    """Check ``fn(model, x, attributions, references) -> (N,)``: per sequence, the attributions' sum minus
    ``f(x)`` plus the mean of ``f`` over that sequence's ``R`` references ``(N, R, 4, L)`` (Chapter 7)."""
    from teachbind.interpret.attribution import integrated_gradients, shuffled_references

    rng = np.random.default_rng(13)
    x = _random_one_hot(rng, 4, 24)
    references = shuffled_references(x, 3, seed=14)
    model = _small_basset(4)
    ig = integrated_gradients(model, x, references=references, steps=4, device="cpu")
    cases = [(model, x, ig, references), (model, x, torch.zeros_like(x), references[:, :1])]

    def reference(model, x, attributions, references):
        n, r = references.shape[:2]
        with torch.no_grad():
            mean = model(references.reshape(n * r, *x.shape[1:])).reshape(n, r).mean(dim=1)
            return attributions.sum(dim=(1, 2)) - (model(x).reshape(n) - mean)

    def first_only(model, x, attributions, references):
        return reference(model, x, attributions, references[:, :1])

    check_function(
        fn, reference, cases, name="completeness_gap",
        describe=lambda model, x, a, refs: f"a small Basset, {len(x)} sequences, {refs.shape[1]} references each",
        hints=[Hint(lambda got, *case: _close(got, -_as_array(reference(*case))),
                    "The signs are flipped: attributions' sum minus (f(x) - mean f(reference))."),
               Hint(lambda got, *case: _close(got, first_only(*case)),
                    "Average f over all R references of each sequence, not only the first.")])
