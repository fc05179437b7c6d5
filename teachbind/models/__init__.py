"""The book's models, one module each: DeepBind (Chapter 3), Basset (Chapter 4), iDeep with its RBMs (Chapter 5) and
ResidualBind (Chapter 6).

Every module has the same three pieces: the model (a ``torch.nn.Module`` whose constructor takes the paper's
hyperparameters with its values as defaults), its ``optimizer(model, ...)`` factory, and one training recipe,
``fit_<name>(model, train, valid=None, *, max_epochs, patience, batch_size, seed, device, progress, ...)`` → the
history of :func:`teachbind.train.fit`. Constructor arguments share one vocabulary: ``filters`` and ``width`` for the
first convolution (tuples ``filters``, ``widths`` for Basset's three), ``length`` for the input length, ``n_tasks``
for the number of outputs, ``hidden`` for dense units, ``dropout`` for the dropout rate. A model built for one
output (DeepBind, iDeep) returns ``(N,)``; a multi-task model (Basset, ResidualBind) returns ``(N, n_tasks)``,
``n_tasks = 1`` included. Every model checks its input (:func:`teachbind.seq.check_one_hot`).
"""

import torch

from teachbind.models.basset import Basset
from teachbind.models.deepbind import DeepBind
from teachbind.models.ideep import IDeep
from teachbind.models.rbm import RBM
from teachbind.models.residualbind import ResidualBind


def n_parameters(model: torch.nn.Module) -> int:
    """The number of trainable numbers in ``model`` (Chapter 3 counts DeepBind's, Chapter 4 Basset's)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = ["Basset", "DeepBind", "IDeep", "RBM", "ResidualBind", "n_parameters"]
