"""Where the data package lives.

Installed from a wheel, the tables ship inside the package (``shdata/data``).
In a clone or an editable install they are read from the repository's top-level
``data/`` folder. ``SHDATA_DATA_DIR`` overrides both, which is how tests point
shdata at a temporary copy.
"""

from __future__ import annotations

import os
from pathlib import Path

DESCRIPTOR = "datapackage.json"


def default_data_dir() -> Path:
    """Return the folder that holds ``datapackage.json``.

    Returns
    -------
    pathlib.Path
        ``$SHDATA_DATA_DIR`` if set, else the packaged copy, else ``<repo>/data``.
    """
    env = os.environ.get("SHDATA_DATA_DIR")
    if env:
        if Path(env).exists() and not Path(env).is_dir():
            from .errors import DescriptorError

            raise DescriptorError(
                f"SHDATA_DATA_DIR={env} is not a folder; point it at the folder holding {DESCRIPTOR}, or unset it"
            )
        return Path(env)
    here = Path(__file__).resolve().parent
    packaged = here / "data"
    if (packaged / DESCRIPTOR).is_file():
        return packaged
    return here.parent / "data"
