"""Use cases the API and the pages share: they call the ports and raise domain errors, never HTTP ones."""
