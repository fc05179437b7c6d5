"""DNA and RNA sequences as arrays: alphabets, validation, one-hot encoding, shuffles and k-mers.

Chapter 1 (``nbs/01_sequences.ipynb``) explains each function here. Conventions used throughout teachbind:

* a batch of sequences is a list of strings; a single sequence may be passed as one string;
* one-hot tensors are channels-first, shape ``(N, 4, L)`` (``(4, L)`` for one sequence), the layout that
  :func:`torch.nn.functional.conv1d` expects, with channels in alphabet order (A, C, G, T or A, C, G, U);
* ``N`` (any base) is accepted everywhere and encoded as 0.25 in each channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numba
import numpy as np
import torch

N_CODE = 4
_INVALID = 255


@dataclass(frozen=True)
class Alphabet:
    """The four letters of a nucleic-acid alphabet, in one-hot channel order, and their complements."""

    name: str
    letters: str
    complements: str
    table: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        table = np.full(256, _INVALID, dtype=np.uint8)
        for code, letter in enumerate(self.letters + "N"):
            table[ord(letter)] = table[ord(letter.lower())] = code
        object.__setattr__(self, "table", table)


DNA = Alphabet("DNA", "ACGT", "TGCA")
RNA = Alphabet("RNA", "ACGU", "UGCA")
ALPHABETS = {"DNA": DNA, "RNA": RNA}


def get_alphabet(alphabet: str | Alphabet) -> Alphabet:
    """Return the :class:`Alphabet` named ``"DNA"`` or ``"RNA"`` (or ``alphabet`` itself)."""
    if isinstance(alphabet, Alphabet):
        return alphabet
    try:
        return ALPHABETS[alphabet.upper()]
    except (KeyError, AttributeError):
        raise ValueError(f"unknown alphabet {alphabet!r}: use 'DNA' or 'RNA'") from None


def _as_list(seqs: str | Sequence[str]) -> list[str]:
    if isinstance(seqs, str):
        return [seqs]
    seqs = list(seqs)
    for i, s in enumerate(seqs):
        if not isinstance(s, str):
            raise TypeError(f"sequence {i} is a {type(s).__name__}, not a string")
    return seqs


def _invalid_letter_error(seqs: list[str], index: int, position: int, alphabet: Alphabet) -> ValueError:
    letter = seqs[index][position]
    hint = ""
    other = {"DNA": RNA, "RNA": DNA}[alphabet.name]
    if letter.upper() in other.letters:
        hint = (f"; this looks like {other.name}: pass alphabet={other.name!r} or convert it with "
                f"teachbind.seq.to_{alphabet.name.lower()}()")
    return ValueError(
        f"sequence {index} has invalid letter {letter!r} at position {position}: "
        f"{alphabet.name} sequences may contain only {', '.join(alphabet.letters)} and N (any case){hint}"
    )


def encode(seqs: str | Sequence[str], alphabet: str | Alphabet = "DNA") -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of a batch of sequences, concatenated.

    Returns ``(codes, lengths)``: ``codes`` is uint8 of shape ``(sum(lengths),)`` with 0-3 for the alphabet's
    letters in order and 4 for N; ``lengths`` is int64 of shape ``(N,)``. Raises ``ValueError`` naming the
    sequence index, position and letter of the first invalid letter, or the first empty sequence.
    """
    alphabet = get_alphabet(alphabet)
    seqs = _as_list(seqs)
    if not seqs:
        raise ValueError("no sequences given")
    lengths = np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs))
    if (lengths == 0).any():
        raise ValueError(f"sequence {int(np.argmin(lengths))} is empty")
    joined = "".join(seqs)
    try:
        raw = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
    except UnicodeEncodeError as err:
        index, position = _locate(lengths, err.start)
        raise _invalid_letter_error(seqs, index, position, alphabet) from None
    codes = alphabet.table[raw]
    bad = np.flatnonzero(codes == _INVALID)
    if bad.size:
        index, position = _locate(lengths, int(bad[0]))
        raise _invalid_letter_error(seqs, index, position, alphabet)
    return codes, lengths


def _locate(lengths: np.ndarray, flat_position: int) -> tuple[int, int]:
    ends = np.cumsum(lengths)
    index = int(np.searchsorted(ends, flat_position, side="right"))
    return index, flat_position - int(ends[index] - lengths[index])


def validate(seqs: str | Sequence[str], alphabet: str | Alphabet = "DNA") -> None:
    """Raise ``ValueError`` (sequence index, position, letter) unless every sequence is valid ``alphabet``."""
    encode(seqs, alphabet)


def _equal_length_codes(seqs: list[str], alphabet: Alphabet) -> np.ndarray:
    codes, lengths = encode(seqs, alphabet)
    if (lengths != lengths[0]).any():
        odd = int(np.flatnonzero(lengths != lengths[0])[0])
        raise ValueError(
            f"sequences must all have the same length: sequence 0 has {lengths[0]} nt but sequence {odd} has "
            f"{lengths[odd]} nt; bring them to one length first with teachbind.seq.center(seqs, length)"
        )
    return codes.reshape(len(seqs), int(lengths[0]))


_ONE_HOT_ROWS = np.vstack([np.eye(4, dtype=np.float32), np.full((1, 4), 0.25, dtype=np.float32)])


@numba.njit(cache=True)
def _fill_one_hot(codes, out):
    n, length = codes.shape
    for i in range(n):
        for j in range(length):
            c = codes[i, j]
            if c < 4:
                out[i, c, j] = 1.0
            else:
                for k in range(4):
                    out[i, k, j] = 0.25


def one_hot(seqs: str | Sequence[str], alphabet: str | Alphabet = "DNA", dtype: torch.dtype = torch.float32
            ) -> torch.Tensor:
    """One-hot encode sequences of equal length.

    Returns a tensor of shape ``(N, 4, L)``, or ``(4, L)`` for a single string; channel ``c`` is 1 where the
    sequence has the alphabet's ``c``-th letter; ``N`` is 0.25 in every channel. Lowercase is accepted.
    """
    alphabet = get_alphabet(alphabet)
    single = isinstance(seqs, str)
    codes = _equal_length_codes(_as_list(seqs), alphabet)
    out = np.zeros((codes.shape[0], 4, codes.shape[1]), dtype=np.float32)
    _fill_one_hot(codes, out)
    x = torch.from_numpy(out).to(dtype)
    return x[0] if single else x


def check_one_hot(x, where: str, *, channels: int = 4, length: int | None = None) -> None:
    """The one input check of every model and operation on one-hot sequences: raise a ``ValueError`` naming
    ``where`` unless ``x`` is a tensor of shape ``(N, channels, L)``, with ``L == length`` when ``length`` is given."""
    shape = f"(N, {channels}, {'L' if length is None else length})"
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{where} expects a tensor of one-hot sequences of shape {shape}, got {type(x).__name__}; "
                        f"encode strings with teachbind.seq.one_hot")
    if x.ndim != 3 or x.shape[1] != channels or (length is not None and x.shape[2] != length):
        raise ValueError(f"{where} expects one-hot sequences of shape {shape}, got {tuple(x.shape)}")


def _codes_from_one_hot(x: torch.Tensor) -> np.ndarray:
    x = torch.as_tensor(x).detach().float().cpu()
    if x.ndim != 3 or x.shape[1] != 4:
        raise ValueError(f"expected a one-hot tensor of shape (N, 4, L) or (4, L), got {tuple(x.shape)}")
    codes = x.argmax(dim=1).numpy().astype(np.uint8)
    codes[(x.max(dim=1).values < 0.5).numpy()] = N_CODE
    return codes


def decode_codes(codes: np.ndarray, lengths: np.ndarray | None = None, alphabet: str | Alphabet = "DNA"
                 ) -> list[str]:
    """Sequences from integer codes, the inverse of :func:`encode`.

    ``codes`` is uint8, either ``(N, L)`` or concatenated ``(sum(lengths),)`` with ``lengths`` ``(N,)``; codes 0-3
    are the alphabet's letters and 4 is ``N``.
    """
    codes = np.asarray(codes, dtype=np.uint8)
    if lengths is None:
        lengths = np.full(codes.shape[0], codes.shape[1] if codes.ndim == 2 else 0, dtype=np.int64)
    letters = np.frombuffer((get_alphabet(alphabet).letters + "N").encode(), dtype=np.uint8)
    text = letters[codes.reshape(-1)].tobytes().decode("ascii")
    ends = np.cumsum(lengths)
    return [text[end - n:end] for end, n in zip(ends.tolist(), np.asarray(lengths).tolist())]


def decode(x: torch.Tensor, alphabet: str | Alphabet = "DNA") -> list[str] | str:
    """Sequences from a one-hot tensor ``(N, 4, L)`` (a list) or ``(4, L)`` (a string).

    A position whose largest channel is below 0.5 (such as the 0.25 padding of ``N``) decodes to ``N``.
    """
    alphabet = get_alphabet(alphabet)
    x = torch.as_tensor(x)
    single = x.ndim == 2
    seqs = decode_codes(_codes_from_one_hot(x[None] if single else x), alphabet=alphabet)
    return seqs[0] if single else seqs


def reverse_complement(seqs, alphabet: str | Alphabet = "DNA"):
    """Reverse complement of a string, a list of strings, or a one-hot tensor ``(..., 4, L)``.

    For tensors the channel order A, C, G, T makes the complement a flip of the channel axis.
    """
    if isinstance(seqs, torch.Tensor):
        return seqs.flip(dims=(-2, -1))
    alphabet = get_alphabet(alphabet)
    table = str.maketrans(alphabet.letters + alphabet.letters.lower(),
                          alphabet.complements + alphabet.complements.lower())
    if isinstance(seqs, str):
        return seqs.translate(table)[::-1]
    return [s.translate(table)[::-1] for s in _as_list(seqs)]


def random_strands(x: torch.Tensor, *, seed: int) -> torch.Tensor:
    """Reverse-complement augmentation: one-hot DNA ``(N, 4, L)`` with each sequence independently replaced, with
    probability 0.5, by its :func:`reverse_complement`, the other strand of the same DNA. Returns a new tensor;
    the same ``seed`` picks the same sequences. Introduced in Chapter 4 (``nbs/04_basset.ipynb``)."""
    check_one_hot(x, "random_strands")
    flipped = torch.rand(len(x), generator=torch.Generator().manual_seed(seed)) < 0.5
    out = x.clone()
    out[flipped] = reverse_complement(x[flipped])
    return out


def random_shifts(x: torch.Tensor, max_shift: int, *, seed: int) -> torch.Tensor:
    """Shift augmentation: one-hot sequences ``(N, 4, L)``, each moved by its own random number of positions
    between ``-max_shift`` and ``max_shift`` (uniform), the positions uncovered at one end filled with zeros and
    those pushed past the other end dropped; ``L`` is kept. Returns a new tensor; the same ``seed`` gives the
    same shifts. Introduced in Chapter 4 (``nbs/04_basset.ipynb``)."""
    check_one_hot(x, "random_shifts")
    if not 0 <= max_shift < x.shape[-1]:
        raise ValueError(f"max_shift must be between 0 and the length minus one ({x.shape[-1] - 1}), got {max_shift}")
    shifts = torch.randint(-max_shift, max_shift + 1, (len(x),), generator=torch.Generator().manual_seed(seed))
    out = torch.zeros_like(x)
    for d in range(-max_shift, max_shift + 1):
        chosen = shifts == d
        if d >= 0:
            out[chosen, :, d:] = x[chosen, :, :x.shape[-1] - d]
        else:
            out[chosen, :, :d] = x[chosen, :, -d:]
    return out


def to_rna(seqs):
    """Replace T with U (a string or a list of strings)."""
    table = str.maketrans("Tt", "Uu")
    return seqs.translate(table) if isinstance(seqs, str) else [s.translate(table) for s in seqs]


def to_dna(seqs):
    """Replace U with T (a string or a list of strings)."""
    table = str.maketrans("Uu", "Tt")
    return seqs.translate(table) if isinstance(seqs, str) else [s.translate(table) for s in seqs]


def center(seqs: str | Sequence[str], length: int, fill: str = "N"):
    """Bring sequences to ``length`` around their centre: pad both sides with ``fill`` or trim both ends.

    When the difference is odd, the extra letter of padding goes on the right and the extra trimmed letter
    comes off the right.
    """
    if length < 1:
        raise ValueError(f"length must be at least 1, got {length}")
    if len(fill) != 1:
        raise ValueError(f"fill must be one letter, got {fill!r}")

    def one(s: str) -> str:
        extra = length - len(s)
        if extra >= 0:
            left = extra // 2
            return fill * left + s + fill * (extra - left)
        start = -extra // 2
        return s[start:start + length]

    return one(seqs) if isinstance(seqs, str) else [one(s) for s in _as_list(seqs)]


@numba.njit(cache=True)
def _shuffle_one(codes, out, counts, edges, last_edge, order):
    """Altschul-Erickson dinucleotide shuffle of one code array into ``out`` (Kandel et al. 1996 variant)."""
    n = codes.shape[0]
    out[0] = codes[0]
    if n < 3:
        out[:] = codes
        return
    counts[:] = 0
    for i in range(n - 1):
        v = codes[i]
        edges[v, counts[v]] = codes[i + 1]
        counts[v] += 1
    final = codes[n - 1]
    n_vertices = counts.shape[0]
    while True:
        for v in range(n_vertices):
            if counts[v] > 0 and v != final:
                last_edge[v] = np.random.randint(0, counts[v])
        connected = True
        for v in range(n_vertices):
            if counts[v] == 0 or v == final:
                continue
            u, steps = v, 0
            while u != final and steps <= n_vertices:
                u = edges[u, last_edge[u]]
                steps += 1
            if u != final:
                connected = False
                break
        if connected:
            break
    for v in range(n_vertices):
        k = counts[v]
        if k == 0:
            continue
        if v != final:
            j = last_edge[v]
            edges[v, j], edges[v, k - 1] = edges[v, k - 1], edges[v, j]
            k -= 1
        for i in range(k - 1, 0, -1):
            j = np.random.randint(0, i + 1)
            edges[v, i], edges[v, j] = edges[v, j], edges[v, i]
    order[:] = 0
    for i in range(1, n):
        v = out[i - 1]
        out[i] = edges[v, order[v]]
        order[v] += 1


@numba.njit(cache=True)
def _shuffle_batch(codes, offsets, seed):
    np.random.seed(seed)
    out = np.empty_like(codes)
    max_len = 1
    for i in range(offsets.shape[0] - 1):
        max_len = max(max_len, offsets[i + 1] - offsets[i])
    counts = np.zeros(5, dtype=np.int64)
    edges = np.zeros((5, max_len), dtype=codes.dtype)
    last_edge = np.zeros(5, dtype=np.int64)
    order = np.zeros(5, dtype=np.int64)
    for i in range(offsets.shape[0] - 1):
        a, b = offsets[i], offsets[i + 1]
        _shuffle_one(codes[a:b], out[a:b], counts, edges, last_edge, order)
    return out


def _seed_int(seed) -> int:
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1)[0] >> 1)
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**31 - 1))
    return int(seed)


def dinucleotide_shuffle(seqs, *, seed: int | np.random.Generator | None = None, alphabet: str | Alphabet = "DNA"):
    """Shuffle each sequence keeping its exact dinucleotide counts (Altschul & Erickson 1985).

    Accepts a string, a list of strings (any lengths) or a one-hot tensor ``(N, 4, L)`` and returns the same
    kind. The first and last letters and every count of adjacent pairs (``N`` included) are preserved; the
    result is a uniformly random sequence among those with these counts. The same ``seed`` gives the same
    shuffles. This is how DeepBind made its negative examples from ChIP-seq peaks.
    """
    alphabet = get_alphabet(alphabet)
    if isinstance(seqs, torch.Tensor):
        single = seqs.ndim == 2
        codes2d = _codes_from_one_hot(seqs[None] if single else seqs)
        offsets = np.arange(codes2d.shape[0] + 1, dtype=np.int64) * codes2d.shape[1]
        shuffled = _shuffle_batch(codes2d.reshape(-1), offsets, _seed_int(seed)).reshape(codes2d.shape)
        x = torch.from_numpy(_ONE_HOT_ROWS[shuffled].transpose(0, 2, 1).copy()).to(seqs.dtype).to(seqs.device)
        return x[0] if single else x
    single = isinstance(seqs, str)
    seqs = _as_list(seqs)
    codes, lengths = encode(seqs, alphabet)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    out = decode_codes(_shuffle_batch(codes, offsets, _seed_int(seed)), lengths, alphabet)
    return out[0] if single else out


def kmers(k: int, alphabet: str | Alphabet = "DNA") -> list[str]:
    """All ``4**k`` k-mers in lexicographic (alphabet) order: the column names of :func:`kmer_counts`."""
    letters = get_alphabet(alphabet).letters
    words = [""]
    for _ in range(k):
        words = [w + c for w in words for c in letters]
    return words


def kmer_counts(seqs: str | Sequence[str], k: int, alphabet: str | Alphabet = "DNA") -> np.ndarray:
    """Count every k-mer in each sequence; windows that contain ``N`` are skipped.

    Returns int64 of shape ``(N, 4**k)``, columns ordered as :func:`kmers`.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    codes, lengths = encode(seqs, alphabet)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    n_windows = len(codes) - k + 1
    if n_windows <= 0:
        return np.zeros((len(lengths), 4**k), dtype=np.int64)
    index = np.zeros(n_windows, dtype=np.int64)
    has_n = np.zeros(n_windows, dtype=bool)
    for j in range(k):
        window = codes[j:j + n_windows].astype(np.int64)
        index = index * 4 + np.minimum(window, 3)
        has_n |= window == N_CODE
    owner = np.searchsorted(offsets, np.arange(n_windows), side="right") - 1
    inside = (np.arange(n_windows) + k) <= offsets[owner + 1]
    keep = inside & ~has_n
    flat = owner[keep] * 4**k + index[keep]
    return np.bincount(flat, minlength=len(lengths) * 4**k).reshape(len(lengths), 4**k)


def one_hot_padded(seqs: Sequence[str], length: int, alphabet: str | Alphabet = "DNA") -> torch.Tensor:
    """One-hot ``(N, 4, length)`` of sequences of up to ``length`` letters, each centred (:func:`center`) and
    zero-padded: padding positions hold no letter (all four channels 0), unlike ``N`` (0.25 each). This is how
    ResidualBind encodes RNAcompete probes of 29-41 nt."""
    seqs = _as_list(seqs)
    too_long = [i for i, s in enumerate(seqs) if len(s) > length]
    if too_long:
        raise ValueError(f"sequence {too_long[0]} has {len(seqs[too_long[0]])} nt, more than length={length}")
    x = one_hot(center(seqs, length), alphabet=alphabet)
    for i, s in enumerate(seqs):
        left = (length - len(s)) // 2
        x[i, :, :left] = 0
        x[i, :, left + len(s):] = 0
    return x
