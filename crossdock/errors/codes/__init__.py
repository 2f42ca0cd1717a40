"""The error codes, one module per area (``XD-<AREA>-<NNN>``), in the order
of :data:`crossdock.errors.spec.AREAS`; :mod:`crossdock.errors.catalogue`
gathers them into the one ``CATALOGUE``, so read codes from there.

A code is never renamed, reused or removed (retire it with ``retired=True``);
a new code goes at the end of its area's module.
"""
