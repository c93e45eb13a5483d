#!/usr/bin/env bash
# The official HL7 FHIR R4 definitions (StructureDefinitions with snapshots) for the offline
# profile validation in tests/monitor/report/test_fhir_profiles.py, fetched once with npm into a cache folder.
#
# hl7.fhir.r4.core is listed on the npm registry with no published version; the same HL7
# build's hl7.fhir.r4.examples@4.0.1 carries every R4 StructureDefinition (the vital-signs
# profiles among them) as JSON, so that is the package fetched.
set -euo pipefail
dest="${1:-${VIGIL_FHIR_PACKAGES:-.vigil/fhir-packages}}"
pkg="hl7.fhir.r4.examples"
version="4.0.1"
tgz="$dest/$pkg-$version.tgz"
if [ -s "$tgz" ]; then
  echo "$tgz"
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "fhir-packages: npm is needed (apt-get install npm)" >&2; exit 1; }
mkdir -p "$dest"
# Packed beside its destination, so the rename is atomic: a concurrent test worker that runs
# this sees either no package or the whole one, never a half-copied file.
tmp="$(mktemp -d "$dest/.pack.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$pkg@$version" >/dev/null)
mv "$tmp/$pkg-$version.tgz" "$tgz"
echo "$tgz"
