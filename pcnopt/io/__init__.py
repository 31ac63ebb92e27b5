"""Read and write every input and output format pcnopt uses.

- :mod:`pcnopt.io.practices`: a practices table (CSV, GeoJSON, GeoPackage, Parquet).
- :mod:`pcnopt.io.places`: place boundaries (any polygon file, any CRS).
- :mod:`pcnopt.io.nhs`: the NHS/ONS/OS files exactly as published (one module per file).
- :mod:`pcnopt.io.outputs`: a run's output folder, written atomically.
"""
