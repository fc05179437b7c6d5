"""Each chapter's protocol as one function a learner can call on the book's data or on files of their own:
:func:`deepbind.train_chipseq` (Chapter 3), :func:`basset.train_accessibility` (Chapter 4),
:func:`ideep.run_experiment` (Chapter 5), and
:func:`rnacompete.train_deepbind` and :func:`rnacompete.train_residualbind` (Chapters 3 and 6)."""

from teachbind.protocols import basset, deepbind, ideep, rnacompete

__all__ = ["basset", "deepbind", "ideep", "rnacompete"]
