"""Sources: one package per watched program (``express_entry``, ``oinp``), each a
``base.Source``; ``registry`` finds them through the ``drawwatch.sources`` entry points."""
