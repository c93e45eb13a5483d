"""HL7 v2 out: IHE PCD-01 readings (ORU^R01) and IHE PCD ACM alarms (ORU^R40) over MLLP."""
