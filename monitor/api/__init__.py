"""The FastAPI app: REST, the live stream and the dashboard page."""
