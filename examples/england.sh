#!/usr/bin/env bash
# All of England from the NHS files as published (needs ../shared/data beside the project).
set -euo pipefail
S=../shared/data/nhs-files
python cli.py prepare-nhs --epraccur $S/epraccur-2023-01/epraccur.csv \
    --list-sizes $S/gp-reg-pat-prac-all-2021-01/gp-reg-pat-prac-all.csv \
    --postcodes $S/codepoint-open-2014-08/codepo_gb_2014-08_latlon.csv.gz \
    --epcn $S/epcn-2019-12/ePCN.xlsx --payments $S/payments-2018-19/nhspaymentsgp-18-19-csv.csv \
    --out out/england.csv
python cli.py optimise --practices out/england.csv \
    --places ../shared/data/boundaries/SubICB_April_2023_EN_BSC_wgs84.geojson \
    --place-column SICBL23CD --time-limit 60 --out out/england
