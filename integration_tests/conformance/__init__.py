"""The raw-HTTP conformance table (tus 1.0.0), run against tuskit-server and against tusd.

:data:`CASES` holds every case, registered by :mod:`.core` and :mod:`.extensions` on import;
:mod:`.tusd` says where tusd answers otherwise and whose answer the spec backs. The runners
are ``integration_tests/test_conformance.py`` (tuskit-server) and
``integration_tests/peers/test_conformance_tusd.py`` (tusd, in the ``interop`` session).
"""

from integration_tests.conformance import core, extensions
from integration_tests.conformance.api import CASES, MAX_SIZE, Api, Case

__all__ = ["CASES", "MAX_SIZE", "Api", "Case", "core", "extensions"]
