"""The book's models, one module each; every constructor takes the paper's hyperparameters with its values as defaults."""

from teachbind.models.basset import Basset
from teachbind.models.deepbind import DeepBind
from teachbind.models.ideep import IDeep
from teachbind.models.rbm import RBM
from teachbind.models.residualbind import ResidualBind

__all__ = ["Basset", "DeepBind", "IDeep", "RBM", "ResidualBind"]
