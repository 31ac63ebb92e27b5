"""Read the NHS, ONS and OS files exactly as published and join them into one practices table.

The files and the columns used from each:

==================  ===============================================  ===========================
argument            file (publisher)                                 used for
==================  ===============================================  ===========================
``epraccur``        ``epraccur.csv`` (NHS Digital ODS; no header,    code, name, postcode, status,
                    27 columns)                                      commissioner, setting
``list_sizes``      ``gp-reg-pat-prac-all.csv`` (NHS Digital,        ``CODE``,
                    Patients Registered at a GP Practice)            ``NUMBER_OF_PATIENTS``
``postcodes``       OS Code-Point Open (raw: no header, easting and  postcode -> lat, lon
                    northing; or with ``lat``/``lon`` columns), or
                    ONS NSPL / ONSPD (``pcd``/``pcds``, ``lat``,
                    ``long``); plain, ``.gz`` or single-file ``.zip``
``epcn``            ``ePCN.xlsx`` (NHS Digital ODS), any vintage     current practice -> PCN
``payments``        NHS Payments to General Practice CSV (latin-1)   weighted (Carr-Hill)
                                                                     population
``pcn_map``         ``gp-reg-pat-prac-map.csv`` (NHS Digital)        practice -> PCN (fallback)
==================  ===============================================  ===========================

Every practice that is active (status ``A``) and a GP practice (prescribing setting ``4``) in
``epraccur`` is either kept or listed in the :class:`JoinReport` with the reason it was left out.

One module per published file (:mod:`~pcnopt.io.nhs.epraccur`, :mod:`~pcnopt.io.nhs.lists`,
:mod:`~pcnopt.io.nhs.postcodes`, :mod:`~pcnopt.io.nhs.epcn`, :mod:`~pcnopt.io.nhs.payments`),
the shared readers in :mod:`~pcnopt.io.nhs._common`, and the join in :mod:`~pcnopt.io.nhs.join`.
"""

from pcnopt.io.nhs._common import normalise_postcode
from pcnopt.io.nhs.epraccur import COUNTIES, locality, post_town
from pcnopt.io.nhs.join import OUTPUT_COLUMNS, JoinReport, NhsJoin, practices_from_nhs_files

__all__ = [
    "COUNTIES",
    "OUTPUT_COLUMNS",
    "JoinReport",
    "NhsJoin",
    "locality",
    "normalise_postcode",
    "post_town",
    "practices_from_nhs_files",
]
