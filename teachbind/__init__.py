"""teachbind: deep learning for protein-DNA/RNA binding, rebuilt step by step in PyTorch.

The package is organised by concept, each module saying which chapter introduces it: :mod:`~teachbind.seq`
(sequences), :mod:`~teachbind.motifs` (PWMs), :mod:`~teachbind.data` (the book's datasets), :mod:`~teachbind.models`
(DeepBind, Basset, iDeep, ResidualBind), :mod:`~teachbind.train` (fitting and calibration),
:mod:`~teachbind.predict` (running a model: the calling shape of every operation on one),
:mod:`~teachbind.interpret` (attribution and Global Importance Analysis), :mod:`~teachbind.metrics`,
:mod:`~teachbind.structure` (RNA folding), :mod:`~teachbind.plot` and :mod:`~teachbind.widgets`. The course
machinery (book runner, exercise checks, grader, command line) is :mod:`teachbind.course`.
"""

from teachbind.course.dependencies import log_imports as _log_imports

__version__ = "0.1.0"
_log_imports()
