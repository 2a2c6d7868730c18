"""A faithful local TOPMed Imputation Server for tests, demos and users' own DAG tests."""
