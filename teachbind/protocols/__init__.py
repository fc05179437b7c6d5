"""Each chapter's protocol as one function a learner can call on the book's data or on files of their own:
:func:`deepbind.train_chipseq` (Chapter 2), :func:`basset.train_accessibility` (Chapter 3),
:func:`ideep.run_experiment` (Chapter 4), and
:func:`rnacompete.train_deepbind` and :func:`rnacompete.train_residualbind` (Chapters 2 and 5)."""

from teachbind.protocols import basset, deepbind, ideep, rnacompete

__all__ = ["basset", "deepbind", "ideep", "rnacompete"]
