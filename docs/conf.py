"""Sphinx configuration for the acme documentation.

Build with ``python -m sphinx -W --keep-going -b html docs docs/_build/html``
from the repository root.
"""

import os
import sys
from datetime import date

# Import acme from this checkout, whether or not it is installed.
sys.path.insert(0, os.path.abspath(".."))

from acme._version import __version__  # noqa: E402

# -- Project information ------------------------------------------------------
project = "acme"
author = "acme developers"
copyright = f"{date.today().year}, {author}"
version = __version__
release = __version__

# -- General configuration ----------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
]
exclude_patterns = ["_build"]
root_doc = "index"
language = "en"

# autosummary tables only; no stub pages are generated into the source tree.
autosummary_generate = False
autodoc_member_order = "bysource"
autodoc_typehints = "signature"

# numpydoc: the class docstrings document their members themselves.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# Intersphinx from local inventories only: the docs must build without network
# access (CI has none, and -W turns a failed fetch into an error). The files and
# where they come from: _intersphinx/README.
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", "_intersphinx/python.inv"),
    "numpy": ("https://numpy.org/doc/stable", "_intersphinx/numpy.inv"),
    "h5py": ("https://docs.h5py.org/en/stable", "_intersphinx/h5py.inv"),
    "dask": ("https://docs.dask.org/en/stable", "_intersphinx/dask.inv"),
    "distributed": (
        "https://distributed.dask.org/en/stable",
        "_intersphinx/distributed.inv",
    ),
}

# -- HTML output ----------------------------------------------------------------
html_theme = "alabaster"
html_title = f"acme {release}"
html_static_path = []
