"""Each chapter's protocol as one function a learner can call on the book's data or on files of their own:
:func:`deepbind.train_chipseq` (Chapter 2) and :func:`ideep.run_experiment` (Chapter 4)."""

from teachbind.protocols import deepbind, ideep

__all__ = ["deepbind", "ideep"]
