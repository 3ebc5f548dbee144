"""backproplab: the small numpy reference library of the backpropagation course.

One module per idea: ``numeric`` (finite differences and the error score),
``functions`` (named test functions), ``messages`` (every user-facing string).

- ``scalar_net``: the line and the two-layer sigmoid network of notebook 02, with their gradients.
- ``regression``: linear regression by full-batch gradient descent, and least squares.
- ``datasets``: small data sets made without network (Facure's noisy line).
- ``diagrams``: small explanatory drawings (the chain of local derivatives).
"""

__version__ = "0.1.0"
