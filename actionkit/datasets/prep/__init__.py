"""Dataset preparation: converters from raw dataset formats to actionkit's annotation files."""
