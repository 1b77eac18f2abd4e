"""actionkit.models.necks."""
