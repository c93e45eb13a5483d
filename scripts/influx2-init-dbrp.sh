#!/bin/bash
# InfluxDB 2.x init hook: map the 1.x database "vigil" to the "vigil" bucket so Vigil's
# /write and /query (InfluxQL) calls work through the compatibility API.
set -e
bucket_id=$(influx bucket list --name "${DOCKER_INFLUXDB_INIT_BUCKET}" --hide-headers | cut -f1)
influx v1 dbrp create --db vigil --rp autogen --bucket-id "$bucket_id" --default
