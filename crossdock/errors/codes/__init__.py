"""The error codes, one module per area (``XD-<AREA>-<NNN>``), in the order
of :data:`crossdock.errors.spec.AREAS`. :mod:`crossdock.errors.catalogue`
gathers them into the one ``CATALOGUE``; read codes from there."""
