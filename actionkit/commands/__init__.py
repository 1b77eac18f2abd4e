"""The command-line programs behind ``tools/*.py`` and the ``actionkit`` command."""
