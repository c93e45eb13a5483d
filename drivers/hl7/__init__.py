"""HL7 v2 ingest: ORU^R01 observations from a bedside monitor over MLLP/TCP.

`codes` maps OBX identifiers and units to Vigil's channels (data, with sources),
`decoder` turns one HL7 message into readings and the ACKs the sender expects (pure),
`driver` is the socket transport (listener or client); drivers.sim.hl7 is a simulated
monitor that sends real ORU^R01 messages. Parsing and MLLP framing are python-hl7's
(`hl7`, `hl7.mllp`).
"""

PROTOCOL_ID = "hl7"
