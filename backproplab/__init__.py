"""backproplab: the small numpy reference library of the backpropagation course.

One module per idea, each short enough to read in one sitting:

- ``numeric``: finite differences (central, forward, complex step), numerical
  gradients, Jacobians and vector-Jacobian products, and the error score every
  check decides with;
- ``functions``: named test functions, with where to sample them;
- ``descent``: gradient descent, returning the whole trajectory (notebook 01);
- ``scalar_net``: the line and the two-layer sigmoid network of notebook 02;
- ``regression``: linear regression by full-batch gradient descent, and least squares;
- ``datasets``: small data sets made or shipped without network;
- ``value``: the scalar reverse-mode engine ``Value`` (notebook 03);
- ``scalar_mlp``: ``Neuron``, ``Layer``, ``MLP`` made of Values, and their training loop (notebook 03);
- ``dual``: forward mode with dual numbers (notebook 03);
- ``layers``: modules with forward and backward, losses, ``Sequential``, ``SGD`` (notebooks 04-07);
- ``gradcheck``: the student's gradient checker of a module;
- ``jacobians``, ``cost``: analytic Jacobians, and time and memory of a call (notebook 06);
- ``training``, ``planted``, ``symmetry``: training loops, a network with planted bugs,
  hidden-unit permutations (notebook 07);
- ``boundary``, ``stackdiagram``, ``trainplots``, ``graphdraw``, ``diagrams``, ``plots``: drawings (matplotlib is imported inside them);
- ``messages``: every sentence the library and the checks show, in English and pt-BR.
"""

__version__ = "0.2.0"
