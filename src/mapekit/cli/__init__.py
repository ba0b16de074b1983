"""The ``mape`` command: the only place that prints or picks exit statuses."""
