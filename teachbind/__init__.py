"""teachbind: deep learning for protein-DNA/RNA binding, rebuilt step by step in PyTorch.

The package is organised by concept; each module says which chapter introduces it.
"""

__version__ = "0.1.0"
