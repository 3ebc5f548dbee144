"""backproplab: the small numpy reference library of the backpropagation course.

One module per idea: ``numeric`` (finite differences and the error score),
``functions`` (named test functions), ``messages`` (every user-facing string).
"""

__version__ = "0.1.0"
