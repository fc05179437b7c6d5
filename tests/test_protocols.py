"""Each chapter's protocol runs on files given by path, in the format the book's data come in."""

import gzip

import numpy as np
import pytest

from teachbind import data, metrics, motifs, protocols, seq
from teachbind.models import DeepBind, deepbind
from teachbind.train import sample_hyperparameters


def _write_chipseq(path, seqs, labels):
    with gzip.open(path, "wt") as handle:
        handle.write("FoldID\tEventID\tseq\tBound\n")
        for rank, (s, label) in enumerate(zip(seqs, labels), start=1):
            handle.write(f"A\tseq_{rank:05d}_peak\t{s}\t{label}\n")


@pytest.fixture
def own_chipseq(tmp_path):
    """A ChIP-seq experiment of one's own in DeepBind's format: 300 peaks carrying a planted site, and a test file of
    100 peaks and 100 shuffles."""
    motif = motifs.Motif("toy", "toy", motifs.pwm_from_iupac("CCACGCGTGG"))
    planted = data.plant_motif(motif, 400, length=101, fraction_bound=1.0, seed=5)
    train, test = planted.seqs[:300], planted.seqs[300:]
    _write_chipseq(tmp_path / "MYTF_mycells_AC.seq.gz", train, [1] * 300)
    test_seqs = test + seq.dinucleotide_shuffle(test, seed=6)
    _write_chipseq(tmp_path / "MYTF_mycells_B.seq.gz", test_seqs, [1] * 100 + [0] * 100)
    return tmp_path / "MYTF_mycells_AC.seq.gz"


def test_a_chipseq_file_of_ones_own_loads_by_path_with_its_test_file_beside_it(own_chipseq):
    experiment = data.load_deepbind_chipseq(own_chipseq)
    assert experiment.name == "MYTF_mycells" and experiment.tf == "MYTF"
    assert len(experiment.train_seqs) == 300 and experiment.train_ranks.tolist() == list(range(1, 301))
    assert experiment.test_labels.sum() == 100 and len(experiment.test_seqs) == 200
    alone = own_chipseq.with_name("OTHER_AC.seq.gz")
    alone.write_bytes(own_chipseq.read_bytes())
    with pytest.raises(FileNotFoundError, match=r"OTHER_B.seq.gz \(pass test=PATH\)"):
        data.load_deepbind_chipseq(alone)
    assert data.load_deepbind_chipseq(alone, test=own_chipseq.with_name("MYTF_mycells_B.seq.gz")).name == "OTHER"


def test_deepbind_protocol_calibrates_and_trains_on_a_file_given_by_path(own_chipseq):
    candidates = sample_hyperparameters(deepbind.search_space("classification"), 2, seed=0)
    result = protocols.deepbind.train_chipseq(own_chipseq, candidates, folds=2, calibration_peaks=200,
                                              calibration_epochs=2, final_sequences=6000, final_runs=1, seed=0,
                                              device="cpu")
    assert isinstance(result.model, DeepBind) and result.experiment == "MYTF_mycells" and result.peaks == 300
    assert len(result.calibration) == 2 and result.chosen is candidates[int(result.calibration.loc[0, "candidate"])]
    assert result.scores.shape == (200,) and np.isfinite(result.scores).all()
    assert result.auroc == metrics.auroc(result.labels, result.scores)
