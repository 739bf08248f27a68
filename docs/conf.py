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

# No inventories are fetched: the docs must build without network access.
intersphinx_mapping = {}

# -- HTML output ----------------------------------------------------------------
html_theme = "alabaster"
html_title = f"acme {release}"
html_static_path = []
