"""Real datasets through a checksummed registry, their loaders, and simulators with planted ground truth."""

from teachbind.data.accessibility import (
    AccessibilitySet,
    AitacSample,
    load_accessibility,
    load_aitac_sample,
    load_basset_targets,
    load_dhs_k562_hepg2,
)
from teachbind.data.clip import ClipSplit, Modalities, ionmf_experiments, load_ionmf
from teachbind.data.chipseq import ChipSeqExperiment, deepbind_chipseq_experiments, load_deepbind_chipseq
from teachbind.data.registry import (
    CACHE_ENV,
    MIRROR_ENV,
    ChecksumError,
    DataNotFoundError,
    entry,
    fetch,
    open_text,
    registered,
    sha256sum,
)
from teachbind.data.rnacompete import (
    ProbeSets,
    clip_and_scale,
    clip_norm,
    load_probe_sets,
    load_rnacompete,
    log_norm,
    read_probes,
    rnacompete_proteins,
)
from teachbind.data.simulate import Compendium, PlantedMotifs, plant_motif, simulate_compendium

__all__ = [
    "AccessibilitySet", "AitacSample", "CACHE_ENV", "ChecksumError", "ChipSeqExperiment", "ClipSplit", "Compendium",
    "DataNotFoundError", "MIRROR_ENV", "Modalities", "PlantedMotifs", "ProbeSets", "clip_and_scale", "clip_norm",
    "deepbind_chipseq_experiments", "entry", "fetch", "ionmf_experiments", "load_accessibility", "load_aitac_sample",
    "load_basset_targets", "load_deepbind_chipseq", "load_dhs_k562_hepg2", "load_ionmf", "load_probe_sets",
    "load_rnacompete", "log_norm", "open_text", "plant_motif", "read_probes", "registered", "rnacompete_proteins",
    "sha256sum", "simulate_compendium",
]
