"""neurokit: the core of the toolkit (fsaverage meshes, file I/O, datasets, metrics, layers).

It imports none of the toolkit's other packages (``encoding``, ``neurogen``,
``cortex2image``); they import it.
"""

from neurokit._version import __version__
from neurokit.exceptions import *  # noqa: F401,F403
from neurokit.exceptions import __all__ as _exc_all
from neurokit.surface_data import SurfaceData

__all__ = ["__version__", "SurfaceData", *_exc_all]
