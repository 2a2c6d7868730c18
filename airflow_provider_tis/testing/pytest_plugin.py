"""pytest plugin (entry point ``tis_simulator``): fixtures that run the TIS simulator."""
