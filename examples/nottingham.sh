#!/usr/bin/env bash
# One real area from the national NHS files: Nottingham City, Nottingham North and East and
# Nottingham West (CCGs of 2019). Run from the project root with ../shared beside it.
set -euo pipefail
S=../shared/data/nhs-files
B=../shared/data/boundaries/CCG_April_2019_EN_BUC_wgs84.geojson
AREA=E38000132,E38000133,E38000134
python cli.py prepare-nhs --epraccur $S/epraccur-2023-01/epraccur.csv \
    --list-sizes $S/gp-reg-pat-prac-all-2021-01/gp-reg-pat-prac-all.csv \
    --postcodes $S/codepoint-open-2014-08/codepo_gb_2014-08_latlon.csv.gz \
    --epcn $S/epcn-2019-12/ePCN.xlsx --payments $S/payments-2018-19/nhspaymentsgp-18-19-csv.csv \
    --out england.csv
python cli.py optimise --practices england.csv --places $B --place-column CCG19CD \
    --area $AREA --out out-notts/
python cli.py validate --practices england.csv --places $B --place-column CCG19CD \
    --area $AREA --assignments england.csv --pcn-column current_pcn --report current-2019.csv \
    || true  # exit 1: the 2019 configuration breaks rules (listed above)
python cli.py map --practices england.csv --places $B --place-column CCG19CD --area $AREA \
    --assignments Proposed=out-notts/assignments.csv --compare "Current PCNs=england.csv" \
    --title "Nottingham: proposed PCNs" --out out-notts-map/map.html
