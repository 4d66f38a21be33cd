"""Dataset and body-model preparation for hmr-flow (``python -m data_tools ...``)."""
