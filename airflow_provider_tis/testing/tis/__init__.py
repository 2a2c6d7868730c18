"""The TOPMed/Michigan Imputation Server (Cloudgene 3) simulator."""
